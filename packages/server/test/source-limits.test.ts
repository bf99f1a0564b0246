import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEVICE_IDENTITY_PUBLIC_LENGTH, toBase64Url } from '@parley/protocol';
import { CLOSE, type RunningServer, startServer } from '@parley/server';
import { sourceKey } from '../src/relay/source-limits.ts';
import {
  challenge,
  openRaw,
  type RawConnection,
  random,
  registerRaw,
  registrationArgs,
  sendArgs,
} from './helpers/raw-device.ts';

const FLOOD = '127.0.0.2';
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const linkArgs = () => ({
  channel: toBase64Url(random(16)),
  identity: toBase64Url(random(DEVICE_IDENTITY_PUBLIC_LENGTH)),
  name: 'new phone',
  mac: toBase64Url(random(32)),
});

/** Opens a raw connection from `localAddress`, or undefined when the server closes it first. */
async function tryOpen(url: string, localAddress: string): Promise<RawConnection | undefined> {
  try {
    return await openRaw(url, localAddress);
  } catch {
    return undefined;
  }
}

describe('limits per source address (one flooding address, one ordinary client)', () => {
  let server: RunningServer;
  const limits = {
    handshakeTimeoutMs: 1500,
    maxUnauthenticatedPerSource: 12,
    maxLinkChannelsPerSource: 3,
    // The server-wide channel cap the flood filled on the parent commit.
    maxLinkChannels: 8,
    registerBurstPerSource: 4,
    registerRatePerSource: 1 / 3600,
  };
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-sources-'));
    dirs.push(dir);
    server = await startServer({ port: 0, dataDir: join(dir, 'data'), logLevel: 'silent', limits });
  });
  after(async () => server.close());

  it('a flood from 127.0.0.2 is capped while a client on 127.0.0.1 keeps registering, linking and sending', async () => {
    const alice = await registerRaw(server.url, 'flood-alice');
    const bob = await registerRaw(server.url, 'flood-bob');

    // 1. Sockets: 30 from the flooding address; at most the per-source cap stays open.
    const flood: RawConnection[] = [];
    for (let i = 0; i < 30; i++) {
      const c = await tryOpen(server.url, FLOOD);
      if (c !== undefined) flood.push(c);
    }
    assert.ok(flood.length <= limits.maxUnauthenticatedPerSource, `${flood.length} flood sockets open`);
    assert.ok(flood.length >= limits.maxLinkChannelsPerSource + limits.registerBurstPerSource);

    // 2. Link channels: every flood socket tries; only the per-source cap succeeds.
    const linkAnswers = await Promise.all(flood.map((c) => c.request('link-open', linkArgs())));
    const opened = linkAnswers.filter((r) => r.type === 'response').length;
    assert.equal(opened, limits.maxLinkChannelsPerSource);
    const refused = linkAnswers.find((r) => r.type === 'error');
    assert.equal(refused?.code, 'RATE_LIMITED');
    assert.match(String(refused?.message), /too many link channels open from your address/);

    // 3. Registrations: the sockets without a channel register; the per-source burst passes, no more.
    const rest = flood.filter((_, i) => linkAnswers[i]?.type !== 'response');
    let registered = 0;
    let limited = 0;
    for (const [i, c] of rest.entries()) {
      const r = await c.request('register', (await registrationArgs(`flood-${i}`, await challenge(c))).args);
      if (r.type === 'response') registered += 1;
      else if (r.code === 'RATE_LIMITED') limited += 1;
    }
    assert.equal(registered, limits.registerBurstPerSource);
    assert.equal(limited, rest.length - limits.registerBurstPerSource);

    // Meanwhile 127.0.0.1 registers, opens a link channel and sends as if nothing happened.
    const carol = await registerRaw(server.url, 'flood-carol');
    const fresh = await openRaw(server.url);
    assert.equal((await fresh.request('link-open', linkArgs())).type, 'response');
    for (let i = 0; i < 5; i++) {
      assert.equal((await alice.conn.request('send', sendArgs('flood-bob', random(20)))).type, 'response');
      assert.equal((await bob.conn.next((f) => f.type === 'deliver')).type, 'deliver');
    }
    assert.equal((await carol.conn.request('send', sendArgs('flood-alice', random(20)))).type, 'response');

    for (const c of flood) c.close();
    for (const c of [alice.conn, bob.conn, carol.conn, fresh]) c.close();
  });

  it('the handshake timeout closes every unauthenticated socket, raw TCP that never speaks HTTP included', async () => {
    const idle = await openRaw(server.url, FLOOD);
    const t0 = Date.now();
    assert.equal(await idle.closed(), CLOSE.handshakeTimeout);
    assert.ok(Date.now() - t0 < limits.handshakeTimeoutMs + 1000);

    const { port } = new URL(server.url);
    const silent = connect({ host: '127.0.0.1', port: Number(port), localAddress: FLOOD });
    silent.on('error', () => {});
    const closedAfter = await new Promise<number>((resolve, reject) => {
      const start = Date.now();
      const timer = setTimeout(() => reject(new Error('a silent TCP socket was still open after 6 s')), 6000);
      silent.once('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - start);
      });
    });
    assert.ok(closedAfter >= limits.handshakeTimeoutMs - 100, `closed after ${closedAfter} ms`);
  });

  it('sources are counted per IPv4 address and per IPv6 /64', () => {
    assert.equal(sourceKey('::ffff:127.0.0.2'), '127.0.0.2');
    assert.equal(sourceKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.notEqual(sourceKey('2001:db8:1:3::1'), sourceKey('2001:db8:1:2::1'));
    assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  });
});

describe('the server-wide link channel cap', () => {
  let server: RunningServer;
  // Per source more than server-wide, so the server's own cap is what refuses.
  const limits = { maxLinkChannels: 2, maxLinkChannelsPerSource: 10, linkTtlMs: 60_000 };
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-link-cap-'));
    dirs.push(dir);
    server = await startServer({ port: 0, dataDir: join(dir, 'data'), logLevel: 'silent', limits });
  });
  after(async () => server.close());

  it('a link-open past it is refused as RATE_LIMITED saying the server has too many open, not that the id is in use', async () => {
    const conns = await Promise.all([openRaw(server.url), openRaw(server.url), openRaw(server.url)]);
    const [a, b, c] = conns as [RawConnection, RawConnection, RawConnection];
    const first = linkArgs();
    assert.equal((await a.request('link-open', first)).type, 'response');
    assert.equal((await b.request('link-open', linkArgs())).type, 'response');
    const full = await c.request('link-open', linkArgs());
    assert.equal(full.type, 'error');
    assert.equal(full.code, 'RATE_LIMITED');
    assert.equal(full.message, 'too many link channels are open on this server; try again later');
    assert.deepEqual(full.details, { retryAfterMs: limits.linkTtlMs });
    // An id that is really in use still says so.
    const taken = await c.request('link-open', { ...linkArgs(), channel: first.channel });
    assert.equal(taken.code, 'BAD_FRAME');
    assert.equal(taken.message, 'that channel id is in use');
    for (const x of conns) x.close();
  });
});
