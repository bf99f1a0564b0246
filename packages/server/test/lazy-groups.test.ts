/**
 * The relay loads MLS (`@parley/protocol/groups`, and with it ts-mls, ~16 MB resident) only when
 * it first checks a KeyPackage, never at start (issue 18's idle-memory target). A static import
 * of that entry point anywhere in the server's start graph fails this test.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runJsonChild } from './helpers/json-child.ts';

const CHILD = join(import.meta.dirname, 'helpers', 'started-modules.ts');
/** Starts a server in a child process with `options`, recording what it loads; the JSON lines it printed. */
const startedIn = (options: object, record: string) =>
  runJsonChild<{ tsMls: boolean; sqliteOnMainThread?: boolean; promClient?: boolean }>(CHILD, options, record);
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the server loads MLS only for a group operation', () => {
  it('a default server start has no ts-mls in its module graph (main and storage threads), nor better-sqlite3 on its event loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-lazy-groups-'));
    dirs.push(dir);
    const [started, imported] = await startedIn({ dataDir: join(dir, 'server'), thenImport: true }, join(dir, 'loads'));
    assert.deepEqual(started, { tsMls: false, sqliteOnMainThread: false, promClient: false });
    // The control: the same record shows ts-mls once the group entry point is imported.
    assert.deepEqual(imported, { tsMls: true });
  });
});
