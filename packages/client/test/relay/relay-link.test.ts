import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { isClientError, openClient, type ParleyClient, registerAccount } from '@parley/client';
import { collect, createWorld, type TestWorld } from '../helpers/env.ts';
import { answersTo, type FaultProxy, isRequest, startFaultProxy } from '../helpers/fault-proxy.ts';
import { within } from '../helpers/within.ts';

/** A port on loopback where nothing listens. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('the relay link on an unreliable network', () => {
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
    const client = async (name: string, requestTimeoutMs = 1_000): Promise<ParleyClient> => {
      const registered = await registerAccount({ home: world.home(name), name, server: proxy.url });
      await registered.close();
      const c = await openClient({ home: world.home(name), requestTimeoutMs, maxBackoffMs: 200 });
      clients.push(c);
      await c.connect(AbortSignal.timeout(10_000));
      return c;
    };
    return { world, proxy, client };
  };

  it('sends a request again, with the same id, when its answer is lost on a live connection', async () => {
    const { world, proxy, client } = await setUp();
    const alice = await client('alice');
    const bob = await world.register('bob');
    const inbox = bob.events();
    const sends: string[] = [];
    const drop = answersTo('send', 1, 'drop');
    proxy.setRule((f) => {
      if (isRequest('send')(f)) sends.push(String(JSON.parse(f.data).id));
      return drop(f);
    });
    const accepted = proxy.accepted;
    await within(alice.sendAndWait('bob', 'answer lost once'), 5_000, 'sendAndWait');
    assert.equal(sends.length, 2);
    assert.equal(sends[0], sends[1]);
    assert.equal(proxy.accepted, accepted, 'no new connection was needed');
    assert.deepEqual(await collect(inbox, 1, 5_000), ['answer lost once']);
  });

  it('takes a connection whose answers stay lost as broken: reconnects, and the outbox sends again', async () => {
    const { world, proxy, client } = await setUp();
    const alice = await client('alice');
    const bob = await world.register('bob');
    const inbox = bob.events();
    proxy.setRule(answersTo('send', 2, 'drop'));
    const accepted = proxy.accepted;
    await within(alice.sendAndWait('bob', 'answers lost twice'), 8_000, 'sendAndWait');
    assert.ok(proxy.accepted > accepted, 'reconnected');
    assert.deepEqual(await collect(inbox, 1, 5_000), ['answers lost twice']);
    // The server stored it once: nothing more arrives.
    await bob.idle();
    assert.equal(bob.history('alice', 10).length, 1);
  });

  it('retries a first connect that is reset, until its signal aborts', async () => {
    const { world, proxy, client } = await setUp();
    const alice = await client('alice');
    await alice.close();
    proxy.setAccept('reset');
    setTimeout(() => proxy.heal(), 700);
    const again = await openClient({ home: world.home('alice'), maxBackoffMs: 200 });
    clients.push(again);
    await within(again.connect(AbortSignal.timeout(6_000)), 8_000, 'connect');
    assert.ok(again.isConnected());
  });

  it('gives up on a first connect that hangs when its signal aborts: SERVER_UNREACHABLE, not a hang', async () => {
    const { world, proxy, client } = await setUp();
    const alice = await client('alice');
    await alice.close();
    proxy.setAccept('hang');
    const c = await openClient({ home: world.home('alice'), requestTimeoutMs: 300, maxBackoffMs: 100 });
    clients.push(c);
    const before = proxy.accepted;
    const started = Date.now();
    await within(
      assert.rejects(c.connect(AbortSignal.timeout(1_500)), (err) => isClientError(err, 'SERVER_UNREACHABLE')),
      5_000,
      'connect',
    );
    assert.ok(Date.now() - started >= 1_400, 'kept trying until the signal aborted');
    assert.ok(proxy.accepted - before >= 2, `retried (${proxy.accepted - before} attempts)`);
  });

  it('without a signal, a first connect that hangs fails after the connect timeout', async () => {
    const { world, proxy, client } = await setUp();
    const alice = await client('alice');
    await alice.close();
    proxy.setAccept('hang');
    const c = await openClient({ home: world.home('alice'), requestTimeoutMs: 400 });
    clients.push(c);
    await within(
      assert.rejects(c.connect(), (err) => isClientError(err, 'SERVER_UNREACHABLE')),
      3_000,
      'connect',
    );
    // A failed connect leaves the client able to try again.
    proxy.heal();
    await within(c.connect(AbortSignal.timeout(10_000)), 12_000, 'second connect');
    assert.ok(c.isConnected());
  });

  it('fails a refused first connect at once, even with time left on its signal', async () => {
    const world = await createWorld();
    worlds.push(world);
    const port = await closedPort();
    const started = Date.now();
    await assert.rejects(
      registerAccount({
        home: world.home('nobody'),
        name: 'nobody',
        server: `http://127.0.0.1:${port}`,
        signal: AbortSignal.timeout(20_000),
      }),
      (err) => isClientError(err, 'SERVER_UNREACHABLE') && /ECONNREFUSED/.test(err.message),
    );
    assert.ok(Date.now() - started < 5_000);
  });
});
