import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { collect, createWorld } from './helpers/env.ts';

describe('a rate-limited send', () => {
  it('is retried after the server’s hint, without another send or a reconnect', async () => {
    // Two sends at once, then one every 200 ms for the account.
    const world = await createWorld({ limits: { sendRate: 5, sendBurst: 2 } });
    try {
      const alice = await world.register('alice');
      const bob = await world.register('bob');
      const inbox = bob.events();
      const texts = Array.from({ length: 6 }, (_, i) => `burst ${i}`);
      for (const t of texts) await alice.send('bob', t);
      // Nothing else happens: the outbox must empty itself as the bucket refills.
      assert.deepEqual([...(await collect(inbox, texts.length, 10_000))].sort(), [...texts].sort());
    } finally {
      await world.close();
    }
  });
});
