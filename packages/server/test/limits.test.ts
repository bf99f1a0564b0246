import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inviteHash, type RunningServer, startServer } from '@parley/server';
import { authRaw, challenge, openRaw, random, registerRaw, registrationArgs, sendArgs } from './helpers/raw-device.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'parley-limits-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('queue TTL', () => {
  it('a message older than the TTL is neither delivered nor kept', async () => {
    let now = 1_700_000_000_000;
    const server = await startServer({
      port: 0,
      dataDir: join(tempDir(), 'data'),
      logLevel: 'silent',
      clock: () => now,
      limits: { queueTtlMs: 60_000 },
    });
    const alice = await registerRaw(server.url, 'alice');
    const bob = await registerRaw(server.url, 'bob');
    bob.conn.close();
    await bob.conn.closed();
    await alice.conn.request('send', sendArgs('bob', random(50)));
    now += 30_000;
    await alice.conn.request('send', sendArgs('bob', random(50), 'still-fresh-1'));
    assert.equal(await server.storage.queueDepth('bob', 1), 2);
    now += 45_000; // the first is 75 s old (expired), the second 45 s (fresh)
    const conn = await authRaw(server.url, 'bob', bob.identity);
    const first = await conn.next((f) => f.type === 'deliver' || f.type === 'drained');
    assert.equal(first.type, 'deliver');
    assert.equal(first.messageId, 'still-fresh-1');
    assert.equal((await conn.next((f) => f.type === 'deliver' || f.type === 'drained')).type, 'drained');
    assert.equal(await server.storage.purgeExpired(now, 0), 1);
    assert.equal(await server.storage.queueDepth('bob', 1), 1);
    conn.close();
    alice.conn.close();
    await server.close();
  });
});

describe('invite-only registration', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ port: 0, dataDir: join(tempDir(), 'data'), logLevel: 'silent', inviteOnly: true });
  });
  after(async () => server.close());

  it('needs an unused invite code; each code registers one account', async () => {
    await server.storage.createInvite(inviteHash('let-me-in-123'), Date.now());
    const c = await openRaw(server.url);
    let reg = await registrationArgs('invitee', await challenge(c));
    assert.equal((await c.request('register', reg.args)).code, 'INVITE_REQUIRED');
    reg = await registrationArgs('invitee', await challenge(c));
    assert.equal((await c.request('register', { ...reg.args, invite: 'wrong-code' })).code, 'INVITE_REQUIRED');
    reg = await registrationArgs('invitee', await challenge(c));
    assert.equal((await c.request('register', { ...reg.args, invite: 'let-me-in-123' })).type, 'response');
    c.close();
    const d = await openRaw(server.url);
    const again = await registrationArgs('second', await challenge(d));
    assert.equal((await d.request('register', { ...again.args, invite: 'let-me-in-123' })).code, 'INVITE_REQUIRED');
    d.close();
  });
});

describe('rate limits, frame caps, health and shutdown', () => {
  let server: RunningServer;
  let logFile: string;
  before(async () => {
    const dir = tempDir();
    logFile = join(dir, 'server.log');
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'debug',
      logFile,
      // A hard cap below the 4 MiB default keeps the oversized frame below small; the typed-error
      // cap stays under it, as in the defaults (2 MiB typed, 4 MiB hard).
      limits: {
        frameRate: 20,
        frameBurst: 20,
        sendRate: 2,
        sendBurst: 3,
        maxFrameBytes: 256 * 1024,
        hardFrameBytes: 512 * 1024,
      },
    });
  });
  after(async () => server.close());

  it('per-account send limit: a typed RATE_LIMITED with a retry hint, then sends work again', async () => {
    const alice = await registerRaw(server.url, 'ratelimited');
    await registerRaw(server.url, 'target');
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await alice.conn.request('send', sendArgs('target', random(10))));
    assert.deepEqual(
      answers.map((a) => a.type === 'response' || a.code),
      [true, true, true, 'RATE_LIMITED', 'RATE_LIMITED'],
    );
    const hint = (answers[3]?.details as { retryAfterMs?: number } | undefined)?.retryAfterMs;
    assert.ok(hint !== undefined && hint > 0);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await alice.conn.request('send', sendArgs('target', random(10)))).type, 'response');
    alice.conn.close();
  });

  it('per-connection frame limit answers RATE_LIMITED without closing', async () => {
    const c = await openRaw(server.url);
    const nonce = await challenge(c);
    for (let i = 0; i < 40; i++) c.sendRaw('{"v":1,"type":"ack","seqs":[1]}');
    const limited = await c.next((f) => f.type === 'error' && f.code === 'RATE_LIMITED');
    assert.ok((limited.details as { retryAfterMs: number }).retryAfterMs > 0);
    await new Promise((r) => setTimeout(r, 1100));
    const reg = await registrationArgs('after-flood', nonce);
    assert.equal((await c.request('register', reg.args)).type, 'response');
    c.close();
  });

  it('a frame over the hard cap closes the socket with 1009, not a crash', async () => {
    const c = await openRaw(server.url);
    c.sendRaw('x'.repeat(600 * 1024));
    assert.equal(await c.closed(), 1009);
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
  });

  it('/healthz answers, unknown paths are 404, and the WebSocket lives only at /v1/ws', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: string }).status, 'ok');
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
  });

  it('logs are structured JSON and hold no message bodies or keys', async () => {
    const body = random(64);
    const alice = await registerRaw(server.url, 'logger-a');
    await registerRaw(server.url, 'logger-b');
    await alice.conn.request('send', sendArgs('logger-b', body));
    await alice.conn.request('send', { name: 'logger-b', messageId: 'x', messages: [] });
    const text = readFileSync(logFile, 'utf8');
    const lines = text.trim().split('\n');
    assert.ok(lines.length > 3);
    for (const l of lines) assert.equal(typeof JSON.parse(l).msg, 'string');
    const b64 = Buffer.from(body).toString('base64url');
    assert.ok(!text.includes(b64.slice(0, 20)), 'a message body reached the log');
    assert.ok(!text.includes(Buffer.from(alice.identity.signingPrivateKey).toString('base64url').slice(0, 20)));
    alice.conn.close();
  });

  it('/metrics speaks Prometheus: connections, messages in and out, queue depth, store latency', async () => {
    const a = await registerRaw(server.url, 'metrics-a');
    const b = await registerRaw(server.url, 'metrics-b');
    await a.conn.request('send', sendArgs('metrics-b', random(10)));
    await b.conn.next((f) => f.type === 'deliver');
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    assert.ok(value('parley_connections') >= 2);
    assert.ok(value('parley_messages_in_total') >= 1);
    assert.ok(value('parley_messages_out_total') >= 1);
    assert.ok(value('parley_queue_depth') >= 1, 'the delivered message is not acknowledged yet');
    assert.match(text, /^parley_store_seconds_count\{op="batch"\} [1-9]/m);
    a.conn.close();
    b.conn.close();
  });

  it('shutdown drains: sockets get 1001, /healthz stops answering ok, the database closes', async () => {
    const d = await registerRaw(server.url, 'at-shutdown');
    const closing = server.close();
    assert.equal(await d.conn.closed(), 1001);
    await closing;
    await assert.rejects(fetch(`${server.url}/healthz`));
  });
});
