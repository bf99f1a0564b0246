/**
 * Issue 19, item 11: an `http://` (or `ws://`) server that is not on this machine is refused
 * before anything connects, unless the caller says `allowInsecure`; `https://` and `wss://` stay
 * encrypted. Nothing here needs a network: the refusal comes before any socket, and the sockets
 * that are opened go through a platform that records their URL and sends them to a loopback relay.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ClientPlatform } from '@parley/client';
import {
  HOME_DB_FILE,
  isClientError,
  nodePlatform,
  openClientOn,
  registerAccount,
  registerAccountOn,
  startLink,
} from '@parley/client';
import Database from 'better-sqlite3';
import { createWorld, type TestWorld } from '../helpers/env.ts';

/** A Node platform whose sockets are recorded and, when `to` is given, opened on `to`'s host instead. */
function recordingPlatform(to?: string): { platform: ClientPlatform; urls: string[] } {
  const urls: string[] = [];
  const platform: ClientPlatform = {
    ...nodePlatform,
    openWebSocket(url, maxPayload) {
      urls.push(url);
      if (to === undefined) throw new Error('no socket in this test');
      const u = new URL(url);
      const target = new URL(to);
      u.protocol = 'ws:';
      u.host = target.host;
      return nodePlatform.openWebSocket(u.toString(), maxPayload);
    },
  };
  return { platform, urls };
}

const REMOTE_PLAINTEXT = [
  'http://example.test',
  'http://example.test:8787',
  'ws://example.test',
  'http://10.0.0.1:8787',
  'http://[2001:db8::1]:8787',
  'http://127.0.0.1.example.test',
];

describe('a server that is not on this machine needs TLS', () => {
  const worlds: TestWorld[] = [];
  after(async () => {
    for (const w of worlds) await w.close();
  });

  it('registerAccount and startLink refuse http:// and ws:// to a remote host with INSECURE_SERVER, before any socket or home', async () => {
    const world = await createWorld();
    worlds.push(world);
    const { platform, urls } = recordingPlatform();
    for (const server of REMOTE_PLAINTEXT) {
      const home = world.home(`refused-${urls.length}-${REMOTE_PLAINTEXT.indexOf(server)}`);
      await assert.rejects(
        registerAccountOn(platform, { home, name: 'ann', server }),
        (err: unknown) =>
          isClientError(err, 'INSECURE_SERVER') &&
          err.message.includes(server) &&
          /not be encrypted/.test(err.message) &&
          /allowInsecure/.test(err.message),
        server,
      );
      await assert.rejects(startLink({ home, server, deviceName: 'x' }), (err: unknown) =>
        isClientError(err, 'INSECURE_SERVER'),
      );
      assert.equal(existsSync(home), false, `${server}: no home was created`);
    }
    assert.deepEqual(urls, [], 'no socket was opened');
  });

  it('with allowInsecure it connects (and so fails to reach a name that does not resolve)', async () => {
    const world = await createWorld();
    worlds.push(world);
    await assert.rejects(
      registerAccount({
        home: world.home('insecure'),
        name: 'ann',
        server: 'http://example.test:9',
        allowInsecure: true,
        requestTimeoutMs: 5000,
      }),
      (err: unknown) => isClientError(err, 'SERVER_UNREACHABLE') && /example\.test/.test(err.message),
    );
  });

  it('loopback servers need no TLS: 127.0.0.0/8, ::1 and localhost', async () => {
    const world = await createWorld();
    worlds.push(world);
    const port = world.server.port;
    for (const [i, server] of [
      `http://127.0.0.1:${port}`,
      `http://localhost:${port}`,
      `ws://127.0.0.1:${port}`,
    ].entries()) {
      const c = await registerAccount({ home: world.home(`loop${i}`), name: `loop${i}`, server });
      await c.close();
    }
    // Other loopback addresses and ::1 are accepted too (the socket goes to the test's relay).
    for (const [i, server] of ['http://127.8.9.10:1', 'http://[::1]:1', 'http://LOCALHOST:1'].entries()) {
      const { platform, urls } = recordingPlatform(world.server.url);
      const c = await registerAccountOn(platform, { home: world.home(`alt${i}`), name: `alt${i}`, server });
      await c.close();
      assert.equal(urls.length, 1, server);
    }
  });

  it('https:// becomes wss:// and wss:// stays wss://', async () => {
    const world = await createWorld();
    worlds.push(world);
    for (const [i, server] of ['https://example.test', 'wss://example.test:8443'].entries()) {
      const { platform, urls } = recordingPlatform();
      await assert.rejects(registerAccountOn(platform, { home: world.home(`tls${i}`), name: 'ann', server }));
      assert.equal(urls.length, 1);
      assert.equal(new URL(urls[0] as string).protocol, 'wss:', `${server} → ${urls[0]}`);
    }
  });

  it('allowInsecure given at registration is remembered by the home; a home without it is refused at connect', async () => {
    const world = await createWorld();
    worlds.push(world);
    // "remote.example.test" is reached through the recording platform, which sends the socket to the test relay.
    const server = `http://remote.example.test:${world.server.port}`;
    const { platform, urls } = recordingPlatform(world.server.url);
    const ann = await registerAccountOn(platform, {
      home: world.home('ann'),
      name: 'ann',
      server,
      allowInsecure: true,
    });
    await ann.close();
    const again = await openClientOn(platform, { home: world.home('ann') });
    await again.connect();
    await again.close();
    assert.ok(urls.every((u) => u.startsWith('ws://remote.example.test:')));

    // A home that does not remember the choice (as every home made before the check) is refused
    // when it connects, and says how to go on; the option on openClient allows it for that client.
    const db = new Database(join(world.home('ann'), HOME_DB_FILE));
    db.prepare("DELETE FROM profile WHERE key = 'allow_insecure'").run();
    db.close();
    const old = await openClientOn(platform, { home: world.home('ann') });
    const before = urls.length;
    await assert.rejects(
      old.connect(),
      (err: unknown) => isClientError(err, 'INSECURE_SERVER') && err.message.includes(server),
    );
    assert.equal(urls.length, before, 'no socket was opened');
    await old.close();
    const allowed = await openClientOn(platform, { home: world.home('ann'), allowInsecure: true });
    await allowed.connect();
    await allowed.close();
  });
});
