import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isClientError, openClient, type ParleyClient } from '@parley/client';
import { SQLITE_FILE } from '@parley/server';
import Database from 'better-sqlite3';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';

describe('deleting an account', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let bob: ParleyClient;

  before(async () => {
    world = await createWorld();
    alice = await world.register('alice');
    bob = await world.register('bob');
    const inbox = alice.events();
    await bob.sendAndWait('alice', 'hello alice');
    await collect(inbox, 1);
  });
  after(() => world.close());

  it('a linked device without the account key may not delete the account', async () => {
    const laptop = await world.link(alice, 'alice-laptop');
    await assert.rejects(laptop.deleteAccount(), (e) => isClientError(e, 'NOT_ALLOWED'));
    await laptop.close();
  });

  it('removes the account, its devices, keys and queues on the server; contacts get UNKNOWN_ACCOUNT', async () => {
    // Something waits in alice's queue on the server when she deletes.
    await alice.close();
    await bob.sendAndWait('alice', 'queued for alice');
    alice = await openClient({ home: world.home('alice'), receipts: false });
    await alice.connect();
    await alice.deleteAccount();
    await alice.close();
    const db = new Database(join(world.dataDir, SQLITE_FILE), { readonly: true });
    try {
      for (const [table, column] of [
        ['accounts', 'name'],
        ['devices', 'account'],
        ['signed_prekeys', 'account'],
        ['one_time_prekeys', 'account'],
        ['kem_prekeys', 'account'],
        ['queue', 'account'],
        ['key_packages', 'account'],
        ['last_resort_key_packages', 'account'],
        ['send_log', 'sender'],
      ]) {
        const n = db.prepare(`SELECT COUNT(*) FROM ${table} WHERE ${column} = ?`).pluck().get('alice');
        assert.equal(n, 0, `${table} still holds alice's rows`);
      }
    } finally {
      db.close();
    }
    await assert.rejects(bob.sendAndWait('alice', 'are you there?'), (e) => {
      assert.ok(isClientError(e), String(e));
      assert.ok(
        e.code === 'UNKNOWN_ACCOUNT' || (e.code === 'SERVER_REFUSED' && e.relayCode === 'UNKNOWN_ACCOUNT'),
        `${e.code} ${e.relayCode ?? ''}: ${e.message}`,
      );
      return true;
    });
  });
});
