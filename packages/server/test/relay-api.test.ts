import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accountNameSkeleton, authSignedBytes, encodeDeviceIdentityPublic, toBase64Url } from '@parley/protocol';
import { type RunningServer, startServer } from '@parley/server';
import {
  addDeviceRaw,
  challenge,
  openRaw,
  provider,
  type RawDevice,
  random,
  registerRaw,
  registrationArgs,
  sendArgs,
  uploadKeys,
} from './helpers/raw-device.ts';

describe('relay API: bad input gets a typed error and the connection keeps working', () => {
  let dir: string;
  let server: RunningServer;
  let alice: RawDevice;
  let bob: RawDevice;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-relay-'));
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      limits: {
        maxFrameBytes: 64 * 1024,
        maxMessageBytes: 16 * 1024,
        handshakeTimeoutMs: 300,
        maxQueuePerDevice: 5,
        // The whole queue's cap is what these tests reach (queue-share.test.ts tests the share).
        queueSenderSharePercent: 100,
        sendRate: 1000,
        sendBurst: 1000,
      },
    });
    alice = await registerRaw(server.url, 'alice');
    bob = await registerRaw(server.url, 'bob');
    await uploadKeys(bob, 3, 2);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stillWorks = async (d: RawDevice) => {
    const r = await d.conn.request('key-count', {});
    assert.equal(r.type, 'response');
  };

  it('malformed frames: not JSON, not an object, unknown type, binary', async () => {
    for (const raw of ['{nope', '[1,2]', '"text"', JSON.stringify({ v: 1, type: 'shout' })]) {
      alice.conn.sendRaw(raw);
      const e = await alice.conn.next((f) => f.type === 'error');
      assert.equal(e.code, 'BAD_FRAME', raw);
    }
    alice.conn.sendRaw(Buffer.from('{}'), true);
    assert.equal((await alice.conn.next((f) => f.type === 'error')).code, 'BAD_FRAME');
    await stillWorks(alice);
  });

  it('unknown versions and operations', async () => {
    alice.conn.sendRaw(JSON.stringify({ v: 2, type: 'request', id: 1, op: 'send', args: {} }));
    assert.equal((await alice.conn.next((f) => f.type === 'error')).code, 'UNKNOWN_VERSION');
    const r = await alice.conn.request('delete-everything', {});
    assert.equal(r.code, 'UNKNOWN_OP');
    // Ops are looked up in the op table: names an object inherits are not ops.
    for (const op of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      assert.equal((await alice.conn.request(op, {})).code, 'UNKNOWN_OP', op);
    }
    // A refused envelope answers its request by id once the id could be read.
    alice.conn.sendRaw(JSON.stringify({ v: 1, type: 'request', id: 4242, op: 'key-count', args: 5 }));
    const e = await alice.conn.next((f) => f.type === 'error');
    assert.deepEqual([e.code, e.id], ['BAD_FRAME', 4242]);
    await stillWorks(alice);
  });

  it('oversized frames and bodies', async () => {
    alice.conn.sendRaw('x'.repeat(70 * 1024));
    assert.equal((await alice.conn.next((f) => f.type === 'error')).code, 'FRAME_TOO_LARGE');
    const big = await alice.conn.request('send', sendArgs('bob', random(20 * 1024)));
    assert.equal(big.code, 'MESSAGE_TOO_LARGE');
    await stillWorks(alice);
  });

  it('wrong argument types name the field', async () => {
    const r = await alice.conn.request('send', { name: 'bob', messageId: 'abcdefgh', messages: [{ device: 'one' }] });
    assert.equal(r.code, 'BAD_FRAME');
    assert.match(String(r.message), /messages\[0\]/);
    await stillWorks(alice);
  });

  it('unauthenticated requests are refused, then auth still works on the same connection', async () => {
    const c = await openRaw(server.url);
    const r = await c.request('send', sendArgs('bob', random(10)));
    assert.equal(r.code, 'NOT_AUTHENTICATED');
    c.sendRaw(JSON.stringify({ v: 1, type: 'ack', seqs: [1] }));
    assert.equal((await c.next((f) => f.type === 'error')).code, 'NOT_AUTHENTICATED');
    const nonce = await challenge(c);
    const { args } = await registrationArgs('late-registrant', nonce);
    assert.equal((await c.request('register', args)).type, 'response');
    c.close();
  });

  it('a forged challenge signature is refused, a fresh challenge follows, and too many failures close', async () => {
    const c = await openRaw(server.url);
    await challenge(c);
    const forged = toBase64Url(random(64));
    const r = await c.request('auth', { name: 'alice', device: 1, signature: forged });
    assert.equal(r.code, 'AUTH_FAILED');
    const again = await c.next((f) => f.type === 'challenge');
    assert.ok(again.nonce);
    // Signing the right bytes with the wrong key is refused the same way.
    const { identity } = await registrationArgs('unused-name', new Uint8Array(32));
    const wrongKey = await provider.ed25519Sign(
      identity.signingPrivateKey,
      authSignedBytes(new Uint8Array(32), 'alice', 1),
    );
    assert.equal(
      (await c.request('auth', { name: 'alice', device: 1, signature: toBase64Url(wrongKey) })).code,
      'AUTH_FAILED',
    );
    await c.request('auth', { name: 'alice', device: 1, signature: forged });
    assert.equal(await c.closed(), 4001);
  });

  it('a replayed auth response (captured on one connection) fails on another', async () => {
    const victim = await registerRaw(server.url, 'replay-victim');
    victim.conn.close();
    const c1 = await openRaw(server.url);
    const nonce = await challenge(c1);
    const sig = toBase64Url(
      await provider.ed25519Sign(victim.identity.signingPrivateKey, authSignedBytes(nonce, 'replay-victim', 1)),
    );
    const c2 = await openRaw(server.url);
    await challenge(c2);
    const auth = { name: 'replay-victim', device: 1, signature: sig };
    assert.equal((await c2.request('auth', auth)).code, 'AUTH_FAILED');
    // The original answer is good on its own connection, once.
    assert.equal((await c1.request('auth', auth)).type, 'response');
    assert.equal((await c1.request('auth', auth)).code, 'ALREADY_AUTHENTICATED');
    c1.close();
    c2.close();
  });

  it('a connection that never authenticates is closed with HANDSHAKE_TIMEOUT', async () => {
    const c = await openRaw(server.url);
    const e = await c.next((f) => f.type === 'error' && f.code === 'HANDSHAKE_TIMEOUT', 3000);
    assert.equal(e.code, 'HANDSHAKE_TIMEOUT');
    assert.equal(await c.closed(), 4000);
  });

  it('sends to unknown accounts and stale device lists get typed answers listing the right set', async () => {
    const unknown = await alice.conn.request('send', sendArgs('nobody', random(10)));
    assert.equal(unknown.code, 'UNKNOWN_ACCOUNT');
    const stale = await alice.conn.request('send', {
      name: 'bob',
      messageId: 'stale-device-1',
      messages: [{ device: 2, kind: 'ratchet', body: toBase64Url(random(10)) }],
    });
    assert.equal(stale.code, 'STALE_DEVICES');
    assert.deepEqual(stale.details, { devices: [1], missing: [1], extra: [2], changed: [] });
    await stillWorks(alice);
  });

  it('a send addresses exactly the current devices, the sender’s own excepted: missing, extra and changed are named, resend may address a subset', async () => {
    const dana = await registerRaw(server.url, 'dana');
    const dana2 = await addDeviceRaw(server.url, dana, 2, 2);
    const keyIdOf = (d: typeof dana) =>
      toBase64Url(encodeDeviceIdentityPublic(d.identity.publicIdentity).subarray(0, 8));
    const to = (from: RawDevice, name: string, devices: { device: number; keyId?: string }[], resend = false) =>
      from.conn.request('send', {
        name,
        messageId: toBase64Url(random(12)),
        ...(resend ? { resend } : {}),
        messages: devices.map((d) => ({ ...d, kind: 'ratchet', body: toBase64Url(random(10)) })),
      });
    const stale = (missing: number[], extra: number[], changed: number[], devices = [1, 2]) => ({
      type: 'error',
      code: 'STALE_DEVICES',
      details: { devices, missing, extra, changed },
    });
    const outcome = (f: Record<string, unknown>) =>
      f.type === 'response' ? 'queued' : { type: f.type, code: f.code, details: f.details };
    const cases: [Promise<Record<string, unknown>>, unknown][] = [
      [to(alice, 'dana', [{ device: 1 }]), stale([2], [], [])],
      [to(alice, 'dana', [{ device: 1 }, { device: 2 }, { device: 3 }]), stale([], [3], [])],
      [to(alice, 'dana', [{ device: 1, keyId: keyIdOf(dana2) }, { device: 2 }]), stale([], [], [1])],
      [
        to(alice, 'dana', [
          { device: 1, keyId: keyIdOf(dana) },
          { device: 2, keyId: keyIdOf(dana2) },
        ]),
        'queued',
      ],
      [to(alice, 'dana', [{ device: 2 }], true), 'queued'],
      [to(alice, 'dana', [{ device: 3 }], true), stale([], [3], [])],
      // To its own account a device addresses its other devices only.
      [to(dana, 'dana', [{ device: 2 }]), 'queued'],
      [to(dana, 'dana', [{ device: 1 }, { device: 2 }]), stale([], [1], [], [2])],
      [to(dana, 'dana', [{ device: 1 }], true), stale([], [1], [], [2])],
      [to(dana2, 'dana', [{ device: 1, keyId: keyIdOf(dana2) }]), stale([], [], [1], [1])],
    ];
    for (const [answer, expected] of cases) assert.deepEqual(outcome(await answer), expected);
    dana.conn.close();
    dana2.conn.close();
  });

  it('retries with the same message id are stored once', async () => {
    const args = sendArgs('bob', random(20), 'idempotent-1');
    const first = await alice.conn.request('send', args);
    const second = await alice.conn.request('send', args);
    assert.equal((first.result as { duplicate: boolean }).duplicate, false);
    assert.equal((second.result as { duplicate: boolean }).duplicate, true);
    assert.equal(await server.storage.queueDepth('bob', 1), 1);
  });

  it('a full device queue answers QUEUE_FULL with the device', async () => {
    const carol = await registerRaw(server.url, 'carol');
    carol.conn.close();
    await carol.conn.closed();
    for (let i = 0; i < 5; i++)
      assert.equal((await alice.conn.request('send', sendArgs('carol', random(10)))).type, 'response');
    const full = await alice.conn.request('send', sendArgs('carol', random(10)));
    assert.equal(full.code, 'QUEUE_FULL');
    assert.deepEqual(full.details, { devices: [1], reason: 'queue' });
    await stillWorks(alice);
  });

  it('upload of a prekey whose signature does not verify is refused', async () => {
    const r = await alice.conn.request('upload-keys', {
      signedPreKey: { id: 7, publicKey: toBase64Url(random(32)), signature: toBase64Url(random(64)), createdAt: 0 },
    });
    assert.equal(r.code, 'INVALID_SIGNATURE');
    await stillWorks(alice);
  });

  it('registration checks the name, the device list signature and the challenge', async () => {
    const c = await openRaw(server.url);
    let nonce = await challenge(c);
    const bad = await registrationArgs('No Caps', nonce);
    assert.equal((await c.request('register', bad.args)).code, 'INVALID_NAME');
    nonce = await challenge(c);
    const other = await registrationArgs('list-forger', nonce);
    const victim = await registrationArgs('list-forger', nonce);
    // A device list signed by a different account key than the one presented.
    const r = await c.request('register', { ...other.args, deviceList: victim.args.deviceList });
    assert.equal(r.code, 'INVALID_SIGNATURE');
    nonce = await challenge(c);
    const taken = await registrationArgs('alice', nonce);
    assert.equal((await c.request('register', taken.args)).code, 'NAME_TAKEN');
    c.close();
  });

  it('registration refuses lookalike names (a1ice, alice., rnallory) with NAME_CONFUSABLE naming the rule', async () => {
    await registerRaw(server.url, 'mallory').then((m) => m.conn.close());
    for (const name of ['a1ice', 'alice.', 'aiice', 'rnallory', 'ma11ory-']) {
      const c = await openRaw(server.url);
      const r = await c.request('register', (await registrationArgs(name, await challenge(c))).args);
      assert.equal(r.code, 'NAME_CONFUSABLE', name);
      assert.match(String(r.message), /looks like an existing account.*0 as o, 1 and i as l, rn as m/);
      assert.equal((r.details as { skeleton: string }).skeleton, accountNameSkeleton(name));
      c.close();
    }
    const fine = await registerRaw(server.url, 'alicia');
    fine.conn.close();
  });
});
