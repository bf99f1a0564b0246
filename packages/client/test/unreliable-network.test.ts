import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isClientError, isRelayRefusal, openClient, type ParleyClient, registerAccount } from '@parley/client';
import { createWorld, type TestWorld } from './helpers/env.ts';
import { answersTo, type FaultAction, type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';

/** A small seeded PRNG (mulberry32), so a failing run can be repeated exactly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Polls `check` every 20 ms until it holds; fails after `ms`. */
async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('sending over an unreliable network', () => {
  const worlds: TestWorld[] = [];
  const proxies: FaultProxy[] = [];
  const clients: ParleyClient[] = [];
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    for (const p of proxies) await p.close();
    for (const w of worlds) await w.close();
  });
  const setUp = async () => {
    const world = await createWorld();
    worlds.push(world);
    const proxy = await startFaultProxy(() => world.server.url);
    proxies.push(proxy);
    /** Registers `name` through the proxy, then opens it again with short timeouts, connected. */
    const client = async (name: string): Promise<ParleyClient> => {
      const registered = await registerAccount({ home: world.home(name), name, server: proxy.url });
      await registered.close();
      const c = await openClient({ home: world.home(name), requestTimeoutMs: 500, maxBackoffMs: 150 });
      clients.push(c);
      await c.connect(AbortSignal.timeout(10_000));
      return c;
    };
    return { world, proxy, client };
  };

  it('sendAndWait with a signal: QUEUED when it aborts first, and the message goes out once later', async () => {
    const { world, proxy, client } = await setUp();
    const alice = await client('alice');
    const bob = await world.register('bob');
    // Every connection is reset as a send goes out: nothing gets through.
    proxy.setRule((f) => (f.toServer && f.data.includes('"op":"send"') ? 'reset' : 'pass'));
    await assert.rejects(alice.sendAndWait('bob', 'held back', { signal: AbortSignal.timeout(1_000) }), (err) =>
      isClientError(err, 'QUEUED'),
    );
    proxy.heal();
    await until('bob to get it', () => bob.history('alice', 10).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(
      bob.history('alice', 10).map((m) => m.text),
      ['held back'],
    );
  });

  it('a registration whose answer was lost finishes when run again, with the same keys', async () => {
    const { world, proxy } = await setUp();
    const options = { home: world.home('carol'), name: 'carol', server: proxy.url, requestTimeoutMs: 400 };
    proxy.setRule(answersTo('register', 1, 'drop'));
    await assert.rejects(registerAccount(options), (err) => isClientError(err, 'SERVER_UNREACHABLE'));
    proxy.heal();
    // The server did register carol: running it again authenticates with the keys saved first.
    const carol = await registerAccount({ ...options, requestTimeoutMs: undefined });
    clients.push(carol);
    const dave = await world.register('dave');
    const inbox = carol.events();
    await dave.sendAndWait('carol', 'hello carol');
    for await (const e of inbox) if (e.type === 'message') break;
    assert.equal(carol.history('dave', 10)[0]?.text, 'hello carol');
    // Another home asking for the name is told it is taken (its keys cannot authenticate as carol).
    await assert.rejects(registerAccount({ ...options, home: world.home('carol-impostor') }), (err) =>
      isRelayRefusal(err, 'NAME_TAKEN'),
    );
  });

  it('through resets and dropped frames, every message reported sent or queued arrives exactly once after the network heals', async () => {
    const { proxy, client } = await setUp();
    const alice = await client('alice');
    const bob = await client('bob');
    const random = seeded(18);
    // In both directions, for both clients: every 15th frame resets its connection and 10% of
    // the others are dropped (the challenge is spared, so that connections can be made at all).
    let frames = 0;
    proxy.setRule((f): FaultAction => {
      frames++;
      if (frames % 15 === 0) return 'reset';
      if (random() < 0.1 && !f.data.includes('"type":"challenge"')) return 'drop';
      return 'pass';
    });
    const received: string[] = [];
    const inbox = bob.events();
    const reading = (async () => {
      for await (const e of inbox) if (e.type === 'message') received.push(e.message.text);
    })();
    const connectionsBefore = proxy.accepted;
    const outcomes = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      const text = `unreliable ${i}`;
      try {
        await alice.sendAndWait('bob', text, { signal: AbortSignal.timeout(2_000) });
        outcomes.set(text, 'sent');
      } catch (err) {
        outcomes.set(text, isClientError(err) ? err.code : String(err));
      }
    }
    // No third outcome: each was sent or is queued.
    assert.deepEqual(
      [...outcomes.values()].filter((o) => o !== 'sent' && o !== 'QUEUED'),
      [],
    );
    assert.ok([...outcomes.values()].includes('sent'), 'some got through the faults');
    assert.ok(proxy.accepted - connectionsBefore >= 2, 'connections were reset and made again');
    // The network heals; connections that lost frames are re-established.
    proxy.heal();
    proxy.resetAll();
    await until('every message to arrive', () => outcomes.size === new Set(received).size, 20_000);
    await alice.idle();
    await bob.idle();
    await new Promise((r) => setTimeout(r, 500));
    await inbox.return?.();
    await reading;
    assert.deepEqual([...received].sort(), [...outcomes.keys()].sort(), 'each arrived exactly once');
    assert.equal(bob.history('alice', 100).length, 20);
  });
});
