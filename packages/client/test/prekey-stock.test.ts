import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openClient } from '@parley/client';
import { SQLITE_FILE } from '@parley/server';
import Database from 'better-sqlite3';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('prekey stock', () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld({ limits: { lowPreKeyThreshold: 97 } });
  });
  after(async () => world.close());

  it('a new account uploads a full stock, and refills when the server says it runs low', async () => {
    const bob = await world.register('bob');
    assert.deepEqual(await world.server.storage.countPreKeys('bob', 1), { oneTime: 100, kem: 40 });
    const inbox = bob.events();
    for (const name of ['sender1', 'sender2', 'sender3', 'sender4']) {
      const s = await world.register(name);
      await s.sendAndWait('bob', `from ${name}`);
    }
    await collect(inbox, 4);
    // Four fetches took four of each; below the threshold (97) bob was told and topped up again.
    await until(async () => (await world.server.storage.countPreKeys('bob', 1)).oneTime === 100);
    assert.deepEqual(await world.server.storage.countPreKeys('bob', 1), { oneTime: 100, kem: 40 });
  });

  it('with every one-time key gone, a session still starts on the last-resort keys (still PQ-hybrid)', async () => {
    const carol = await world.register('carol');
    await carol.close();
    const db = new Database(join(world.dataDir, SQLITE_FILE));
    db.pragma('busy_timeout = 5000');
    db.prepare("DELETE FROM one_time_prekeys WHERE account = 'carol'").run();
    db.prepare("DELETE FROM kem_prekeys WHERE account = 'carol' AND last_resort = 0").run();
    db.close();
    const dan = await world.register('dan');
    await dan.sendAndWait('carol', 'on the last resort');
    const again = await openClient({ home: world.home('carol') });
    const inbox = again.events();
    await again.connect();
    assert.deepEqual(await collect(inbox, 1), ['on the last resort']);
    await again.close();
  });

  it('a device whose keys are fetched past the per-target limit is told (stock-drained) and refills at once', async () => {
    // Its own world: a total of two fetches of one account's keys at once, then one a minute.
    const small = await createWorld({ limits: { targetFetchBurst: 2, targetFetchRate: 1 / 60 } });
    try {
      const erin = await small.register('erin');
      const events = erin.events();
      const drained = (async () => {
        for await (const e of events) if (e.type === 'stock-drained') return e.stock;
        return undefined;
      })();
      for (const name of ['fetcher1', 'fetcher2', 'fetcher3', 'fetcher4']) {
        const s = await small.register(name);
        await s.sendAndWait('erin', `from ${name}`);
      }
      const timeout = new Promise<string>((r) => setTimeout(() => r('no notice within 10 s'), 10_000).unref());
      assert.equal(await Promise.race([drained, timeout]), 'prekeys', 'the SDK surfaces the notice as an event');
      // Two fetches took one key each and the rest were spared; stock is topped up again at once,
      // well above the low mark (20) that would otherwise trigger a refill.
      await until(async () => (await small.server.storage.countPreKeys('erin', 1)).oneTime === 100);
      assert.deepEqual(await small.server.storage.countPreKeys('erin', 1), { oneTime: 100, kem: 40 });
    } finally {
      await small.close();
    }
  });
});
