import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { toBase64Url } from '@parley/protocol';
import { type RunningServer, startServer } from '@parley/server';
import { authRaw, drainBacklog, random, registerRaw, sendArgs, uploadKeys } from './helpers/raw-device.ts';
import { dropSchema, POSTGRES_URL, postgresSkipReason } from './helpers/services.ts';

describe('the relay on PostgreSQL', async () => {
  const reason = await postgresSkipReason();
  const schema = `parley_relay_${randomBytes(6).toString('hex')}`;
  let server: RunningServer;
  const start = () =>
    startServer({
      port: 0,
      dataDir: '/nonexistent',
      db: POSTGRES_URL,
      dbSchema: schema,
      logLevel: 'silent',
      // Six fetches by one requester drain bob's five one-time keys (one past the per-requester burst).
      limits: { targetFetchBurstPerRequester: 10 },
    });
  before(async () => {
    if (reason === undefined) server = await start();
  });
  after(async () => {
    if (reason === undefined) {
      await server.close();
      await dropSchema(schema);
    }
  });

  it('registers, serves bundles, queues for an offline device and delivers after a restart', {
    skip: reason,
  }, async () => {
    const alice = await registerRaw(server.url, 'alice');
    const bob = await registerRaw(server.url, 'bob');
    await uploadKeys(bob, 5, 2);
    const bundles = await Promise.all(
      Array.from({ length: 6 }, () => alice.conn.request('fetch-bundles', { name: 'bob' })),
    );
    assert.ok(bundles.every((b) => b.type === 'response'));
    bob.conn.close();
    await bob.conn.closed();
    const bodies = [random(50), random(60), random(70)];
    for (const b of bodies) assert.equal((await alice.conn.request('send', sendArgs('bob', b))).type, 'response');
    alice.conn.close();
    await server.close();
    server = await start();
    const conn = await authRaw(server.url, 'bob', bob.identity);
    const got: string[] = [];
    got.push(...(await drainBacklog(conn)));
    assert.deepEqual(
      got,
      bodies.map((b) => toBase64Url(b)),
    );
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await server.storage.queueDepth('bob', 1), 0);
    conn.close();
  });
});
