import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createCheckpointer } from '../../src/store/sqlite-worker-storage.ts';

/** Polls `check` every 20 ms until it holds, for at most `ms`. */
async function until(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

describe('the WAL checkpoint thread', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-checkpointer-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs only from a write until a quiet spell after the last one, and starts again with the next', async () => {
    const file = join(dir, 'db.sqlite');
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (x BLOB)');
    const checkpointer = createCheckpointer(file, 20, 300);
    try {
      assert.equal(checkpointer.running(), false, 'no thread before the first write');
      checkpointer.wake();
      assert.equal(checkpointer.running(), true);
      db.prepare('INSERT INTO t VALUES (?)').run(Buffer.alloc(64 * 1024));
      checkpointer.wake();
      assert.equal(checkpointer.running(), true, 'one thread, kept while writes come');
      assert.ok(await until(() => !checkpointer.running(), 5_000), 'stopped after the quiet spell');
      checkpointer.wake();
      assert.equal(checkpointer.running(), true, 'the next write starts it again');
    } finally {
      await checkpointer.terminate();
      db.close();
    }
    assert.equal(checkpointer.running(), false);
  });
});
