/**
 * One retry policy for every send (issue 18): a group send that is rate-limited, hits a full
 * queue or whose answer is lost on a live connection is retried exactly like a one-to-one send,
 * and a send whose answer never comes is retried on the same connection (sends are idempotent
 * by message id on the relay) instead of waiting for a reconnect that never comes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ClientEvent, groupPeer, openClient, registerAccount } from '@parley/client';
import { createWorld } from '../helpers/env.ts';
import { inGroup, texts, until } from '../helpers/groups.ts';
import { startRecordingProxy } from '../helpers/recording-proxy.ts';
import { within } from '../helpers/within.ts';

/** Collects the ids of `send-failed` events until the iterator is ended. */
function failures(events: AsyncIterableIterator<ClientEvent>): string[] {
  const ids: string[] = [];
  void (async () => {
    for await (const e of events) if (e.type === 'send-failed') ids.push(e.id);
  })();
  return ids;
}

describe('group sends are retried like direct ones', () => {
  it('retries a rate-limited group send after the server’s hint instead of failing it', async () => {
    // Two sends at once, then one every 200 ms for the account.
    const world = await createWorld({ limits: { sendRate: 5, sendBurst: 2 } });
    try {
      const alice = await world.register('rl-alice');
      const bob = await world.register('rl-bob');
      const { id } = await alice.createGroup('Burst', ['rl-bob']);
      await until('bob to join', () => inGroup(bob, id));
      const aliceEvents = alice.events();
      const failed = failures(aliceEvents);
      // Let the bucket fill again (2 tokens), then send more than it holds.
      await new Promise((r) => setTimeout(r, 600));
      const sent = Array.from({ length: 6 }, (_, i) => `burst ${i}`);
      for (const t of sent) await alice.sendToGroup(id, t);
      await until('bob to receive the whole burst', () => texts(bob, id).length === sent.length, 15_000);
      assert.deepEqual(texts(bob, id), sent);
      assert.deepEqual(failed, []);
      assert.ok(alice.history(groupPeer(id)).every((m) => m.status !== 'failed'));
      await aliceEvents.return?.();
    } finally {
      await world.close();
    }
  });

  it('retries a group send that met a full queue once the recipient drained it', async () => {
    const world = await createWorld({ limits: { maxQueuePerDevice: 3 } });
    try {
      const alice = await world.register('qf-alice');
      const bob = await world.register('qf-bob');
      const { id } = await alice.createGroup('Full', ['qf-bob']);
      await until('bob to join', () => inGroup(bob, id));
      await bob.idle();
      await bob.close();
      const aliceEvents = alice.events();
      const failed = failures(aliceEvents);
      const sent = Array.from({ length: 5 }, (_, i) => `queued ${i}`);
      for (const t of sent) await alice.sendToGroup(id, t);
      await alice.idle();
      const bobAgain = await openClient({ home: world.home('qf-bob'), maxBackoffMs: 200 });
      try {
        await bobAgain.connect();
        await until('bob to receive every message', () => texts(bobAgain, id).length === sent.length, 20_000);
        assert.deepEqual(texts(bobAgain, id), sent);
        assert.deepEqual(failed, []);
      } finally {
        await aliceEvents.return?.();
        await bobAgain.close();
      }
    } finally {
      await world.close();
    }
  });
});

describe('a send whose answer is lost on a live connection', () => {
  /** A world whose alice talks through a proxy that drops the first answer to `op`. */
  async function lossyWorld(op: 'send' | 'group-send') {
    const world = await createWorld();
    let dropped = false;
    const waiting = new Set<number>();
    const proxy = await startRecordingProxy(
      () => world.server.url,
      (data, toServer) => {
        const f = JSON.parse(data) as { type?: string; op?: string; id?: number };
        if (toServer && f.type === 'request' && f.op === op && typeof f.id === 'number') waiting.add(f.id);
        if (!toServer && !dropped && f.type === 'response' && typeof f.id === 'number' && waiting.has(f.id)) {
          dropped = true;
          return [];
        }
        return [data];
      },
    );
    const alice = await registerAccount({
      home: world.home('lost-alice'),
      name: 'lost-alice',
      server: proxy.url,
      // Short enough to see the retry, long enough for registration through the proxy on a busy machine.
      requestTimeoutMs: 3000,
      maxBackoffMs: 200,
    });
    const bob = await world.register('lost-bob');
    return {
      world,
      alice,
      bob,
      wasDropped: () => dropped,
      async close() {
        await alice.close();
        await proxy.close();
        await world.close();
      },
    };
  }

  it('is retried on the same connection (direct)', async () => {
    const w = await lossyWorld('send');
    try {
      const { id } = await within(w.alice.sendAndWait('lost-bob', 'are you there?'), 15_000, 'sendAndWait');
      assert.ok(w.wasDropped(), 'the proxy dropped the first answer');
      assert.ok(w.alice.isConnected(), 'no reconnect was needed');
      await until('bob to receive it', () => w.bob.history('lost-alice').some((m) => m.id === id));
      assert.equal(w.bob.history('lost-alice').filter((m) => m.text === 'are you there?').length, 1);
      assert.equal(w.alice.history('lost-bob').find((m) => m.id === id)?.status, 'sent');
    } finally {
      await w.close();
    }
  });

  it('is retried on the same connection (group)', async () => {
    const w = await lossyWorld('group-send');
    try {
      const { id: groupId } = await w.alice.createGroup('Lossy', ['lost-bob']);
      await until('bob to join', () => inGroup(w.bob, groupId));
      const { id } = await w.alice.sendToGroup(groupId, 'anyone?');
      await until(
        'alice to see the group message sent',
        () => w.alice.history(groupPeer(groupId)).find((m) => m.id === id)?.status === 'sent',
        15_000,
      );
      assert.ok(w.wasDropped(), 'the proxy dropped the first answer');
      await until('bob to receive it', () => texts(w.bob, groupId).includes('anyone?'));
      assert.deepEqual(texts(w.bob, groupId), ['anyone?']);
    } finally {
      await w.close();
    }
  });
});
