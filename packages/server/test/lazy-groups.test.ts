/**
 * The relay loads MLS (`@parley/protocol/groups`, and with it ts-mls, ~16 MB resident) only when
 * it first checks a KeyPackage, never at start (issue 18's idle-memory target). A static import
 * of that entry point anywhere in the server's start graph fails this test.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const CHILD = join(import.meta.dirname, 'helpers', 'started-modules.ts');
const RECORDER = join(import.meta.dirname, '..', '..', '..', 'scripts', 'record-loads.mjs');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Starts a server in a child process with `options`, recording what it loads; the JSON lines it printed. */
function startedIn(options: object, record: string): Promise<{ tsMls: boolean; sqliteOnMainThread?: boolean }[]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=source', '--import', RECORDER, CHILD, JSON.stringify(options)],
      { timeout: 60_000, env: { ...process.env, PARLEY_RECORD_LOADS: record } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`child failed: ${err.message}\n${stderr}`));
        else
          resolve(
            stdout
              .trim()
              .split('\n')
              .map((line) => JSON.parse(line)),
          );
      },
    );
  });
}

describe('the server loads MLS only for a group operation', () => {
  it('a default server start has no ts-mls in its module graph (main and storage threads), nor better-sqlite3 on its event loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-lazy-groups-'));
    dirs.push(dir);
    const [started, imported] = await startedIn({ dataDir: join(dir, 'server'), thenImport: true }, join(dir, 'loads'));
    assert.deepEqual(started, { tsMls: false, sqliteOnMainThread: false });
    // The control: the same record shows ts-mls once the group entry point is imported.
    assert.deepEqual(imported, { tsMls: true });
  });
});
