/**
 * Rotation of the signed prekey and the last-resort ML-KEM prekey (docs/protocol.md §1.1): every
 * 2 days (by the injected clock) a connecting device signs new ones, the server serves them with
 * their signed creation time, and a replaced key's private half is deleted after the grace period.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HOME_DB_FILE, openClient, PREKEY_ROTATION } from '@parley/client';
import { SQLITE_FILE } from '@parley/server';
import Database from 'better-sqlite3';
import { createWorld, type TestWorld } from './helpers/env.ts';

/** Ids of the signed and last-resort keys a table holds, read from a database file. */
function ids(file: string, sql: string): number[] {
  const db = new Database(file, { readonly: true });
  db.pragma('busy_timeout = 5000');
  try {
    return (db.prepare(sql).all() as { id: number }[]).map((r) => r.id);
  } finally {
    db.close();
  }
}

describe('signed and last-resort prekey rotation', () => {
  let world: TestWorld;
  let now = Date.parse('2026-03-01T00:00:00Z');
  const clock = () => now;
  before(async () => {
    world = await createWorld();
  });
  after(async () => world.close());

  it('rotates both every 2 days, serves their signed creation time, and deletes replaced keys after the grace period', async () => {
    const reconnect = async () => {
      const c = await openClient({ home: world.home('bob'), clock, maxBackoffMs: 200 });
      await c.connect();
      await c.idle();
      // The refill runs on connect; a key count round trip after it means it has finished.
      await c.close();
    };
    const bob = await world.register('bob', { clock });
    await bob.close();
    const server = join(world.dataDir, SQLITE_FILE);
    const home = join(world.home('bob'), HOME_DB_FILE);
    const served = () => {
      const db = new Database(server, { readonly: true });
      try {
        const spk = db.prepare("SELECT id, created_at FROM signed_prekeys WHERE account = 'bob'").get() as {
          id: number;
          created_at: number;
        };
        const lr = db
          .prepare("SELECT id, created_at FROM kem_prekeys WHERE account = 'bob' AND last_resort = 1")
          .get() as { id: number; created_at: number };
        return { spk, lr };
      } finally {
        db.close();
      }
    };
    const first = served();
    assert.equal(first.spk.created_at, Math.floor(now / 1000));
    assert.equal(first.lr.created_at, Math.floor(now / 1000));

    // Not yet due: nothing changes.
    now += PREKEY_ROTATION.rotateEveryMs - 1000;
    await reconnect();
    assert.deepEqual(served(), first);

    // Due: both replaced, signed with the new time; the old private halves are kept for now.
    now += 1000;
    await reconnect();
    const second = served();
    assert.notEqual(second.spk.id, first.spk.id);
    assert.notEqual(second.lr.id, first.lr.id);
    assert.equal(second.spk.created_at, Math.floor(now / 1000));
    assert.equal(second.lr.created_at, Math.floor(now / 1000));
    assert.deepEqual(ids(home, 'SELECT id FROM signed_prekeys ORDER BY id'), [first.spk.id, second.spk.id]);
    assert.deepEqual(ids(home, 'SELECT id FROM kem_prekeys WHERE last_resort = 1 ORDER BY id'), [
      first.lr.id,
      second.lr.id,
    ]);

    // Past the grace period after their replacement, the replaced keys' private halves are gone.
    now += PREKEY_ROTATION.graceMs;
    await reconnect();
    const third = served();
    assert.deepEqual(ids(home, 'SELECT id FROM signed_prekeys ORDER BY id'), [second.spk.id, third.spk.id]);
    assert.deepEqual(ids(home, 'SELECT id FROM kem_prekeys WHERE last_resort = 1 ORDER BY id'), [
      second.lr.id,
      third.lr.id,
    ]);
  });
});
