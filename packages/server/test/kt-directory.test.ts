/**
 * Issue 20: the server's key-transparency directory through a real server: registration and
 * device-list changes become directory values in the next epoch, `kt-lookup` proofs verify
 * against the signed head under the key the register answer carries, `kt-head` consistency
 * proofs verify, the audit endpoint's updates replay to each head's root, witnesses cosign, and
 * a restarted server continues the same directory.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromBase64Url, toBase64Url } from '@parley/protocol';
import {
  cosignTreeHead,
  decodeMapProof,
  decodeSignedTreeHead,
  directoryValueHash,
  ktAccountVrfInput,
  ktMapKey,
  SparseMerkleMap,
  verifyCosignature,
  verifyLogConsistency,
  verifyMapProof,
  verifyTreeHead,
  vrfVerify,
} from '@parley/protocol/kt';
import { type RunningServer, startServer } from '@parley/server';
import { challenge, openRaw, provider, type RawDevice, registrationArgs, setDevicesRaw } from './helpers/raw-device.ts';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const b = (name: string, v: unknown) => fromBase64Url(name, v);

async function register(url: string, name: string): Promise<RawDevice & { ktKey: Uint8Array; ktVrfKey: Uint8Array }> {
  const conn = await openRaw(url);
  const { identity, account, args } = await registrationArgs(name, await challenge(conn));
  const r = await conn.request('register', args);
  assert.equal(r.type, 'response', JSON.stringify(r));
  const result = r.result as { ktKey: string; ktVrfKey: string };
  return { name, identity, conn, account, device: 1, ktKey: b('k', result.ktKey), ktVrfKey: b('v', result.ktVrfKey) };
}

/** Checks a kt-lookup answer fully and returns what it proves. */
async function checkLookup(
  answer: Record<string, unknown>,
  name: string,
  ktKey: Uint8Array,
  vrfKey: Uint8Array,
): Promise<{ epoch: number; value?: { version: number; accountKey: Uint8Array; deviceListHash: Uint8Array } }> {
  const signed = decodeSignedTreeHead(b('head', answer.head));
  await verifyTreeHead(provider, ktKey, signed);
  const mapKey = ktMapKey(vrfVerify(vrfKey, ktAccountVrfInput(name), b('vrf', answer.vrfProof)));
  const found = verifyMapProof(signed.head.mapRoot, mapKey, decodeMapProof(b('map', answer.mapProof)));
  if (answer.value === undefined) {
    assert.equal(found.present, false);
    return { epoch: signed.head.epoch };
  }
  const v = answer.value as { version: number; accountKey: string; deviceListHash: string };
  const value = { version: v.version, accountKey: b('a', v.accountKey), deviceListHash: b('d', v.deviceListHash) };
  assert.equal(found.present, true);
  assert.deepEqual(found.present && found.valueHash, directoryValueHash(value));
  return { epoch: signed.head.epoch, value };
}

describe('key transparency directory (issue 20)', () => {
  let dir: string;
  let server: RunningServer;
  const options = () => ({ port: 0, dataDir: join(dir, 'data'), logLevel: 'silent' as const, ktEpochMs: 3_600_000 });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-kt-'));
    server = await startServer(options());
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes registrations and device-list changes with proofs that verify', async () => {
    const alice = await register(server.url, 'alice');
    const bob = await register(server.url, 'bob');
    // The key file is private and its key is the one the register answer carries.
    assert.equal(statSync(join(dir, 'data', 'kt-keys.json')).mode & 0o777, 0o600);
    assert.deepEqual(alice.ktKey, server.kt.directoryKey);
    const e1 = await server.kt.publish();
    assert.equal(typeof e1, 'number');

    const lookup = await bob.conn.request('kt-lookup', { name: 'alice' });
    assert.equal(lookup.type, 'response', JSON.stringify(lookup));
    const got = await checkLookup(lookup.result as Record<string, unknown>, 'alice', bob.ktKey, bob.ktVrfKey);
    assert.equal(got.epoch, e1);
    assert.equal(got.value?.version, 1);
    assert.deepEqual(got.value?.accountKey, alice.account.publicKey);

    // get-account carries the same proof, and its list hashes to the proven value.
    const acc = await bob.conn.request('get-account', { name: 'alice' });
    const accResult = acc.result as { deviceList: string; kt: Record<string, unknown> };
    const fromKeys = await checkLookup(accResult.kt, 'alice', bob.ktKey, bob.ktVrfKey);
    assert.deepEqual(fromKeys.value?.deviceListHash, sha(b('l', accResult.deviceList)));

    // An absent name is proven absent.
    const none = await bob.conn.request('kt-lookup', { name: 'carol' });
    assert.equal(
      (await checkLookup(none.result as Record<string, unknown>, 'carol', bob.ktKey, bob.ktVrfKey)).value,
      undefined,
    );

    // A device-list change is version 2 in the next epoch, with a consistent log.
    assert.equal((await setDevicesRaw(alice, 2, [])).type, 'response');
    const e2 = await server.kt.publish();
    assert.equal(e2, (e1 as number) + 1);
    const again = await bob.conn.request('kt-lookup', { name: 'alice' });
    const v2 = await checkLookup(again.result as Record<string, unknown>, 'alice', bob.ktKey, bob.ktVrfKey);
    assert.equal(v2.value?.version, 2);
    assert.notDeepEqual(v2.value?.deviceListHash, got.value?.deviceListHash);

    const old = decodeSignedTreeHead(b('h', (lookup.result as { head: string }).head)).head;
    const head = await bob.conn.request('kt-head', { from: e1 });
    const hr = head.result as { head: string; proof: string[]; requireWitnesses: number };
    const now = decodeSignedTreeHead(b('h', hr.head)).head;
    verifyLogConsistency(
      old.logSize,
      now.logSize,
      old.logRoot,
      now.logRoot,
      hr.proof.map((p) => b('p', p)),
    );
    assert.equal(hr.requireWitnesses, 0);
  });

  it('refuses bad arguments with typed errors', async () => {
    const eve = await register(server.url, 'eve');
    for (const [op, args] of [
      ['kt-head', { from: -1 }],
      ['kt-head', { from: 'x' }],
      ['kt-head', { from: 1_000_000 }],
      ['kt-lookup', {}],
      ['kt-lookup', { name: 'NOT A NAME' }],
    ] as const) {
      const r = await eve.conn.request(op, args);
      assert.equal(r.type, 'error', `${op} ${JSON.stringify(args)}`);
      assert.ok(r.code === 'BAD_FRAME' || r.code === 'INVALID_NAME', JSON.stringify(r));
    }
    const anon = await openRaw(server.url);
    const r = await anon.request('kt-head', {});
    assert.equal(r.code, 'NOT_AUTHENTICATED');
    anon.close();
  });

  it('serves every epoch for audit: replaying the updates gives every head root, and witnesses cosign', async () => {
    await server.kt.publish();
    const info = (await (await fetch(`${server.url}/v1/kt/audit`)).json()) as { latest: number; ktKey: string };
    const map = new SparseMerkleMap();
    let prevHash = new Uint8Array(32);
    for (let e = 0; e <= info.latest; e++) {
      const a = (await (await fetch(`${server.url}/v1/kt/audit?epoch=${e}`)).json()) as {
        head: string;
        updates: { key: string; value: string; version: number }[];
      };
      const signed = decodeSignedTreeHead(b('h', a.head));
      await verifyTreeHead(provider, b('k', info.ktKey), signed);
      assert.deepEqual(signed.head.previousHeadHash, prevHash);
      prevHash = sha(a.head === '' ? new Uint8Array() : b('h', a.head).subarray(0, 121));
      map.applyBatch(a.updates.map((u) => ({ key: b('k', u.key), valueHash: b('v', u.value) })));
      assert.deepEqual(map.root(), signed.head.mapRoot, `epoch ${e}`);
    }
    assert.equal((await fetch(`${server.url}/v1/kt/audit?epoch=999`)).status, 404);
    assert.equal((await fetch(`${server.url}/v1/kt/audit?epoch=-1`)).status, 400);

    const seed = new Uint8Array(32).fill(7);
    const witnessKey = await provider.ed25519PublicKey(seed);
    const latest = (await server.kt.signedHead(info.latest))?.head;
    assert.ok(latest !== undefined);
    const sig = await cosignTreeHead(provider, seed, latest);
    const post = (body: unknown) =>
      fetch(`${server.url}/v1/kt/witness`, { method: 'POST', body: JSON.stringify(body) });
    assert.equal(
      (await post({ epoch: info.latest, key: toBase64Url(witnessKey), sig: toBase64Url(sig.slice().reverse()) }))
        .status,
      400,
    );
    assert.equal((await post({ epoch: info.latest, key: 'x' })).status, 400);
    assert.equal((await post({ epoch: info.latest, key: toBase64Url(witnessKey), sig: toBase64Url(sig) })).status, 204);
    const eve = await register(server.url, 'eve2');
    const head = (await eve.conn.request('kt-head', {})).result as { cosignatures: { key: string; sig: string }[] };
    assert.equal(head.cosignatures.length, 1);
    assert.ok(await verifyCosignature(provider, witnessKey, latest, b('s', head.cosignatures[0]?.sig)));
  });

  it('a restarted server continues the same directory; another key file is refused', async () => {
    const before = await server.kt.publish();
    const epoch = server.kt.epoch;
    const head = await server.kt.signedHead(epoch);
    await server.close();
    server = await startServer(options());
    assert.equal(server.kt.epoch, epoch);
    assert.deepEqual((await server.kt.signedHead(epoch))?.head.mapRoot, head?.head.mapRoot);
    const alice = await register(server.url, 'frank');
    const next = await server.kt.publish();
    assert.equal(next, epoch + 1);
    const r = await alice.conn.request('kt-lookup', { name: 'alice' });
    assert.equal(
      (await checkLookup(r.result as Record<string, unknown>, 'alice', alice.ktKey, alice.ktVrfKey)).value?.version,
      2,
    );
    void before;
    await server.close();
    const file = join(dir, 'data', 'kt-keys.json');
    const saved = readFileSync(file);
    rmSync(file);
    await assert.rejects(startServer(options()), /key file differs/);
    writeFileSync(file, saved, { mode: 0o600 });
    server = await startServer(options());
  });
});
