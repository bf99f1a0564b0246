/**
 * A damaged or lost SQLite database is refused at start with what happened and what to do
 * (issue 24), instead of starting as if healthy.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStorage, SQLITE_FILE, startServer } from '../src/index.ts';
import { exited, startChild } from './helpers/child-server.ts';
import { random, registerRaw, sendArgs } from './helpers/raw-device.ts';

/** A data directory with two accounts and `sends` messages queued for bob; the server stopped cleanly. */
async function populated(dataDir: string, sends = 20): Promise<void> {
  const server = await startServer({ port: 0, dataDir, logLevel: 'silent' });
  const alice = await registerRaw(server.url, 'alice');
  const bob = await registerRaw(server.url, 'bob');
  bob.conn.close();
  for (let i = 0; i < sends; i++) await alice.conn.request('send', sendArgs('bob', random(2000), `m-${i}`));
  alice.conn.close();
  await server.close();
}

describe('a damaged or lost database', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-damaged-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('starts on a fresh data directory, and again on the same one', async () => {
    const dataDir = join(dir, 'fresh');
    await populated(dataDir, 1);
    const again = await startServer({ port: 0, dataDir, logLevel: 'silent' });
    await again.close();
  });

  it('refuses a truncated database file, saying it is damaged and what to do', async () => {
    const dataDir = join(dir, 'truncated');
    await populated(dataDir);
    const file = join(dataDir, SQLITE_FILE);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    await assert.rejects(startServer({ port: 0, dataDir, logLevel: 'silent' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DATABASE_DAMAGED');
      assert.match(err.message, /is damaged/);
      assert.match(err.message, /restore the database and its -wal file from a backup/);
      return true;
    });
  });

  it('refuses a deleted database instead of creating an empty one', async () => {
    const dataDir = join(dir, 'deleted');
    await populated(dataDir, 1);
    rmSync(join(dataDir, SQLITE_FILE));
    await assert.rejects(startServer({ port: 0, dataDir, logLevel: 'silent' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DATABASE_LOST');
      assert.match(err.message, /is missing/);
      assert.match(err.message, /restore it from a backup/);
      return true;
    });
    assert.equal(existsSync(join(dataDir, SQLITE_FILE)), false, 'no empty database was created in its place');
  });

  it('refuses a database whose -wal was deleted after a crash, until the loss is accepted', async () => {
    const dataDir = join(dir, 'wal');
    const s = await startChild(0, dataDir);
    const alice = await registerRaw(s.url, 'alice');
    const bob = await registerRaw(s.url, 'bob');
    bob.conn.close();
    for (let i = 0; i < 20; i++) await alice.conn.request('send', sendArgs('bob', random(200), `w-${i}`));
    s.child.kill('SIGKILL');
    await exited(s.child);
    const file = join(dataDir, SQLITE_FILE);
    assert.ok(existsSync(`${file}-wal`), 'a crashed server leaves its -wal');
    rmSync(`${file}-wal`);
    rmSync(`${file}-shm`, { force: true });
    await assert.rejects(startServer({ port: 0, dataDir, logLevel: 'silent' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'WAL_LOST');
      assert.match(err.message, /-wal file is missing/);
      return true;
    });
    // The operator accepts the loss (`parley admin check --accept-loss`); the server starts again.
    await (await openSqliteStorage(dataDir, 'full', { acceptLoss: true })).close();
    const again = await startServer({ port: 0, dataDir, logLevel: 'silent' });
    await again.close();
  });
});
