/**
 * The client's key-transparency checks (docs/protocol.md §20) against directories
 * built in the test from the real protocol structures (SparseMerkleMap, the RFC 9162 log,
 * signed tree heads, ECVRF proofs): no crypto is mocked. A hostile directory here is the same
 * code with one step changed (another key, a forked or rolled-back head, a dropped update, a
 * damaged proof); each attack is also run with checks off, to show that it would succeed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  encodeDeviceIdentityPublic,
  encodeSignedDeviceList,
  generateAccountIdentity,
  generateDeviceIdentity,
  type SignedDeviceList,
  signDeviceList,
  toBase64Url,
} from '@parley/protocol';
import {
  type DirectoryValue,
  directoryValueHash,
  encodeMapProof,
  encodeSignedTreeHead,
  generateVrfKeyPair,
  ktAccountVrfInput,
  ktMapKey,
  logConsistencyProof,
  logLeafHash,
  logRoot,
  type SignedTreeHead,
  SparseMerkleMap,
  signTreeHead,
  type TreeHead,
  treeHeadHash,
  vrfProofToHash,
  vrfProve,
} from '@parley/protocol/kt';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import { deviceListHash } from '../../src/directory/list-claims.ts';
import { isClientError } from '../../src/errors.ts';
import { type ClientEvent, createEventHub } from '../../src/events.ts';
import { openBetterSqlite3Home } from '../../src/home/better-sqlite3-home-database.ts';
import { createKtStore } from '../../src/transparency/kt-store.ts';
import { createTransparency, type KtTransport } from '../../src/transparency/transparency.ts';

const provider = createNodeCryptoProvider();
const random = createNodeRandom();
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A key directory built from the protocol's structures; `fork()` copies it (a split view). */
class TestDirectory {
  readonly seed = random(32);
  directoryKey!: Uint8Array;
  readonly vrf = generateVrfKeyPair(random);
  map = new SparseMerkleMap();
  heads: SignedTreeHead[] = [];
  values = new Map<string, DirectoryValue>();
  time = 1_000_000;

  async init(): Promise<this> {
    this.directoryKey = await provider.ed25519PublicKey(this.seed);
    await this.publish([]);
    return this;
  }

  mapKey(name: string): Uint8Array {
    return ktMapKey(vrfProofToHash(vrfProve(this.vrf.secretKey, ktAccountVrfInput(name))));
  }

  /** Applies `updates` (name → value) as the next epoch and signs its head. */
  async publish(updates: [string, DirectoryValue][]): Promise<SignedTreeHead> {
    const mapRoot = this.map.applyBatch(
      updates.map(([name, value]) => ({ key: this.mapKey(name), valueHash: directoryValueHash(value) })),
    );
    for (const [name, value] of updates) this.values.set(name, value);
    const leaves = this.heads.map((h) => logLeafHash(encodeSignedTreeHead(h).subarray(0, 121)));
    const prev = this.heads.at(-1);
    this.time += 10_000;
    const head: TreeHead = {
      epoch: this.heads.length,
      mapRoot,
      logSize: leaves.length,
      logRoot: logRoot(leaves),
      timeMs: this.time,
      previousHeadHash: prev === undefined ? new Uint8Array(32) : treeHeadHash(prev.head),
    };
    const signed = await signTreeHead(provider, this.seed, head);
    this.heads.push(signed);
    return signed;
  }

  headAnswer(from: number | undefined, at = this.heads.length - 1): unknown {
    const head = this.heads[at] as SignedTreeHead;
    const leaves = this.heads.slice(0, at).map((h) => logLeafHash(encodeSignedTreeHead(h).subarray(0, 121)));
    const fromHead = from === undefined ? undefined : this.heads[from];
    const proof =
      fromHead === undefined || from === at
        ? undefined
        : logConsistencyProof(leaves, fromHead.head.logSize).map(toBase64Url);
    return { head: toBase64Url(encodeSignedTreeHead(head)), ...(proof === undefined ? {} : { proof }) };
  }

  lookup(name: string, value = this.values.get(name)): Record<string, unknown> {
    const head = this.heads.at(-1) as SignedTreeHead;
    return {
      head: toBase64Url(encodeSignedTreeHead(head)),
      vrfProof: toBase64Url(vrfProve(this.vrf.secretKey, ktAccountVrfInput(name))),
      mapProof: toBase64Url(encodeMapProof(this.map.prove(this.mapKey(name)))),
      ...(value === undefined
        ? {}
        : {
            value: {
              version: value.version,
              accountKey: toBase64Url(value.accountKey),
              deviceListHash: toBase64Url(value.deviceListHash),
            },
          }),
    };
  }

  /** A copy sharing its past (a server that forks from here on). */
  fork(): TestDirectory {
    const f = Object.create(TestDirectory.prototype) as TestDirectory;
    Object.assign(f, this, {
      heads: [...this.heads],
      values: new Map(this.values),
      map: new SparseMerkleMap(),
    });
    f.map.applyBatch([...this.values].map(([n, v]) => ({ key: this.mapKey(n), valueHash: directoryValueHash(v) })));
    return f;
  }
}

async function account() {
  const key = await generateAccountIdentity(provider, random);
  const identity = encodeDeviceIdentityPublic((await generateDeviceIdentity(provider, random)).publicIdentity);
  const list = await signDeviceList(provider, key.privateKey, 1, [{ id: 1, identity }]);
  return {
    key,
    list,
    value: (version = 1): DirectoryValue => ({
      version,
      accountKey: key.publicKey,
      deviceListHash: deviceListHash(list),
    }),
  };
}

/** A client's transparency checks, talking to `server()` (which the test may swap). */
async function client(dir: TestDirectory, me: Awaited<ReturnType<typeof account>>, opts: { enabled?: boolean } = {}) {
  const home = mkdtempSync(join(tmpdir(), 'parley-kt-'));
  dirs.push(home);
  const db = openBetterSqlite3Home(home);
  const events = createEventHub();
  const seen: ClientEvent[] = [];
  void (async () => {
    for await (const e of events.subscribe()) seen.push(e);
  })();
  let server = dir;
  let now = 5;
  const transport: KtTransport = {
    head: async (from) => server.headAnswer(from),
    lookup: async (name) => server.lookup(name),
  };
  const kt = createTransparency({
    provider,
    clock: () => now,
    store: createKtStore(db),
    events,
    enabled: opts.enabled ?? true,
    pendingGraceMs: 60_000,
    transport: () => transport,
    me: () => 'alice',
    ownAccountKey: () => me.key.publicKey,
    ownList: () => me.list,
  });
  kt.pinFromServer(toBase64Url(dir.directoryKey), toBase64Url(dir.vrf.publicKey), true);
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    kt,
    seen,
    settle,
    useServer: (d: TestDirectory) => {
      server = d;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const served = (a: Awaited<ReturnType<typeof account>>) => ({
  accountKey: a.key.publicKey,
  deviceList: encodeSignedDeviceList(a.list),
});

describe('key transparency: lookups', () => {
  it('accepts the key and device list the directory proves', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    await dir.publish([['alice', alice.value()]]);
    const bob = await client(dir, await account());
    const s = served(alice);
    const r = await bob.kt.verifyServed('alice', dir.lookup('alice'), s.accountKey, s.deviceList);
    assert.equal(r?.version, 1);
    assert.equal(r?.epoch, 1);
  });

  it('refuses a key for Alice that is not hers (KEY_NOT_IN_DIRECTORY); with checks off it is taken', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    const mallory = await account();
    await dir.publish([['alice', alice.value()]]);
    const bob = await client(dir, await account());
    const s = served(mallory);
    // The server serves Mallory's key and list with Alice's (true) proof, or with a value it made up.
    await assert.rejects(bob.kt.verifyServed('alice', dir.lookup('alice'), s.accountKey, s.deviceList), (e) =>
      isClientError(e, 'KEY_NOT_IN_DIRECTORY'),
    );
    await assert.rejects(
      bob.kt.verifyServed('alice', dir.lookup('alice', mallory.value()), s.accountKey, s.deviceList),
      (e) => isClientError(e, 'KEY_NOT_IN_DIRECTORY'),
    );
    const off = await client(dir, await account(), { enabled: false });
    assert.equal(await off.kt.verifyServed('alice', undefined, s.accountKey, s.deviceList), undefined);
  });

  it('takes a value not yet in the directory for a while, then refuses it if it never arrives', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    const mallory = await account();
    const bob = await client(dir, await account());
    const s = served(mallory);
    // A new account "alice" the server serves with Mallory's key but never publishes.
    const first = await bob.kt.verifyServed('alice', dir.lookup('alice'), s.accountKey, s.deviceList);
    assert.equal(first?.status, 'pending');
    await dir.publish([['carol', alice.value()]]);
    assert.equal(await bob.kt.recheckPending(), 1);
    bob.advance(61_000);
    assert.equal(await bob.kt.recheckPending(), 0);
    await bob.settle();
    assert.ok(bob.seen.some((e) => e.type === 'directory-refused'));
    assert.throws(
      () => bob.kt.requireSendable('alice'),
      (e) => isClientError(e, 'DIRECTORY_INCONSISTENT'),
    );
    // Published in time, the same value settles.
    const carolClient = await client(dir, await account());
    const c = served(alice);
    assert.equal(
      (await carolClient.kt.verifyServed('dave', dir.lookup('dave'), c.accountKey, c.deviceList))?.status,
      'pending',
    );
    await dir.publish([['dave', alice.value()]]);
    assert.equal(await carolClient.kt.recheckPending(), 0);
    assert.doesNotThrow(() => carolClient.kt.requireSendable('dave'));
  });

  it('refuses an answer without a proof once a directory key is pinned, and checks nothing without one', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    await dir.publish([['alice', alice.value()]]);
    const bob = await client(dir, await account());
    const s = served(alice);
    await assert.rejects(bob.kt.verifyServed('alice', undefined, s.accountKey, s.deviceList), (e) =>
      isClientError(e, 'KEY_NOT_IN_DIRECTORY'),
    );
    const home = mkdtempSync(join(tmpdir(), 'parley-kt-'));
    dirs.push(home);
    const older = createTransparency({
      provider,
      clock: () => 5,
      store: createKtStore(openBetterSqlite3Home(home)),
      events: createEventHub(),
      enabled: true,
      transport: () => undefined,
      me: () => 'bob',
      ownAccountKey: () => alice.key.publicKey,
      ownList: () => alice.list,
    });
    older.pinFromServer(undefined, undefined, false);
    assert.equal(older.active(), false);
    assert.equal(await older.verifyServed('alice', undefined, s.accountKey, s.deviceList), undefined);
  });

  it('refuses malformed, truncated and oversized proofs with a typed error', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    await dir.publish([['alice', alice.value()]]);
    const bob = await client(dir, await account());
    const s = served(alice);
    const good = dir.lookup('alice');
    const cut = (x: unknown) => (x as string).slice(0, 20);
    const bad: Record<string, unknown>[] = [
      { ...good, mapProof: cut(good.mapProof) },
      { ...good, mapProof: 'A'.repeat(20_000) },
      { ...good, vrfProof: cut(good.vrfProof) },
      { ...good, vrfProof: toBase64Url(random(80)) },
      { ...good, head: cut(good.head) },
      { ...good, value: { version: 'x' } },
      { ...good, mapProof: 42 },
      { ...good, mapProof: toBase64Url(encodeMapProof({ siblings: [], leaf: null })) },
    ];
    for (const answer of bad) {
      await assert.rejects(
        bob.kt.verifyServed('alice', answer, s.accountKey, s.deviceList),
        (e) => isClientError(e, 'KEY_NOT_IN_DIRECTORY') || isClientError(e, 'DIRECTORY_INCONSISTENT'),
      );
    }
    // The good answer still verifies afterwards (nothing was taken from the bad ones).
    assert.equal((await bob.kt.verifyServed('alice', good, s.accountKey, s.deviceList))?.version, 1);
  });
});

describe('key transparency: heads', () => {
  it('follows the log from head to head with consistency proofs', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    const bob = await client(dir, await account());
    await bob.kt.acceptHead((dir.headAnswer(undefined) as { head: string }).head, undefined);
    for (let i = 1; i <= 6; i++) {
      await dir.publish([['alice', alice.value(i)]]);
      const a = dir.headAnswer(i - 1) as { head: string; proof?: string[] };
      assert.equal((await bob.kt.acceptHead(a.head, a.proof)).head.epoch, i);
    }
    assert.equal(bob.kt.status().head?.epoch, 6);
    // Skipping epochs needs a proof too; a wrong proof is refused.
    for (let i = 7; i <= 9; i++) await dir.publish([]);
    const skip = dir.headAnswer(6) as { head: string; proof: string[] };
    await assert.rejects(bob.kt.acceptHead(skip.head, skip.proof.slice(1)), (e) =>
      isClientError(e, 'DIRECTORY_INCONSISTENT'),
    );
    assert.equal((await bob.kt.acceptHead(skip.head, skip.proof)).head.epoch, 9);
  });

  it('refuses a rolled-back or rewritten epoch (DIRECTORY_INCONSISTENT); with checks off nothing is checked', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    await dir.publish([['alice', alice.value()]]);
    const snapshot = dir.fork();
    await dir.publish([['alice', alice.value(2)]]);
    const bob = await client(dir, await account());
    const h = dir.headAnswer(undefined) as { head: string };
    await bob.kt.acceptHead(h.head, undefined);
    // Rollback: the server restarts from the old snapshot and serves epoch 1's successor anew.
    await snapshot.publish([['alice', (await account()).value(2)]]);
    const rewritten = snapshot.headAnswer(1) as { head: string; proof?: string[] };
    await assert.rejects(bob.kt.acceptHead(rewritten.head, rewritten.proof), (e) =>
      isClientError(e, 'DIRECTORY_INCONSISTENT'),
    );
    // Going back to an epoch this device never held.
    const older = snapshot.headAnswer(undefined, 0) as { head: string };
    await assert.rejects(bob.kt.acceptHead(older.head, undefined), (e) => isClientError(e, 'DIRECTORY_INCONSISTENT'));
    // A lookup against the rewritten epoch is refused too, and sends to the account stop.
    const s = served(alice);
    await assert.rejects(bob.kt.verifyServed('alice', snapshot.lookup('alice'), s.accountKey, s.deviceList), (e) =>
      isClientError(e, 'DIRECTORY_INCONSISTENT'),
    );
    assert.throws(
      () => bob.kt.requireSendable('alice'),
      (e) => isClientError(e, 'DIRECTORY_INCONSISTENT'),
    );
    assert.equal(bob.kt.status().evidence.length >= 1, true);
    const off = await client(dir, await account(), { enabled: false });
    assert.doesNotThrow(() => off.kt.requireSendable('alice'));
  });

  it('refuses a head not signed by the pinned directory key', async () => {
    const dir = await new TestDirectory().init();
    const other = await new TestDirectory().init();
    const bob = await client(dir, await account());
    const h = other.headAnswer(undefined) as { head: string };
    await assert.rejects(bob.kt.acceptHead(h.head, undefined), (e) => isClientError(e, 'DIRECTORY_INCONSISTENT'));
  });

  it('detects a split view through gossip, keeping both signed heads as evidence', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    await dir.publish([['alice', alice.value()]]);
    const forAlice = dir.fork();
    const mallory = await account();
    // Epoch 2 differs: Bob's view has Mallory's key under Alice's name, Alice's view has hers.
    await dir.publish([['alice', mallory.value(2)]]);
    await forAlice.publish([['carol', (await account()).value()]]);
    const bob = await client(dir, await account());
    const aliceClient = await client(forAlice, alice);
    const bh = dir.headAnswer(undefined) as { head: string };
    const ah = forAlice.headAnswer(undefined) as { head: string };
    await bob.kt.acceptHead(bh.head, undefined);
    await aliceClient.kt.acceptHead(ah.head, undefined);
    // Alice's message to Bob carries her newest head.
    await bob.kt.noteGossip('alice', aliceClient.kt.gossip() as string);
    await bob.settle();
    const split = bob.seen.find((e) => e.type === 'directory-split-view');
    assert.ok(split !== undefined && split.type === 'directory-split-view');
    assert.equal(split.epoch, 2);
    const evidence = bob.kt.status().evidence.find((e) => e.kind === 'split-view');
    assert.equal(evidence?.heads.length, 2);
    assert.throws(
      () => bob.kt.requireSendable('alice'),
      (e) => isClientError(e, 'DIRECTORY_INCONSISTENT'),
    );
    // With checks off the same gossip goes unnoticed.
    const off = await client(dir, await account(), { enabled: false });
    await off.kt.noteGossip('alice', aliceClient.kt.gossip() as string);
    await off.settle();
    assert.equal(
      off.seen.some((e) => e.type === 'directory-split-view'),
      false,
    );
  });

  it('refuses heads with fewer valid witness cosignatures than required', async () => {
    const dir = await new TestDirectory().init();
    const bob = await client(dir, await account());
    const witness = random(32);
    const wkey = await provider.ed25519PublicKey(witness);
    const a = dir.headAnswer(undefined) as { head: string };
    const answer = { ...a, cosignatures: [], requireWitnesses: 1, witnessKeys: [toBase64Url(wkey)] };
    await assert.rejects(bob.kt.acceptHead(answer.head, undefined, answer), (e) =>
      isClientError(e, 'DIRECTORY_INCONSISTENT'),
    );
    const { cosignTreeHead } = await import('@parley/protocol/kt');
    const head = dir.heads[0] as SignedTreeHead;
    const sig = await cosignTreeHead(provider, witness, head.head);
    const cosigned = { ...answer, cosignatures: [{ key: toBase64Url(wkey), sig: toBase64Url(sig) }] };
    await bob.kt.acceptHead(cosigned.head, undefined, cosigned);
    assert.equal(bob.kt.status().head?.cosignatures, 1);
    // A later answer cannot lower the requirement.
    await dir.publish([]);
    const n = dir.headAnswer(0) as { head: string; proof?: string[] };
    const next = { ...n, cosignatures: [], requireWitnesses: 0, witnessKeys: [] };
    await assert.rejects(bob.kt.acceptHead(n.head, n.proof, next), (e) => isClientError(e, 'DIRECTORY_INCONSISTENT'));
  });
});

describe('key transparency: self-monitoring', () => {
  it('passes while the directory holds our own key and list', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    await dir.publish([['alice', alice.value()]]);
    const c = await client(dir, alice);
    assert.equal((await c.kt.selfCheck())?.ok, true);
    await c.settle();
    assert.equal(
      c.seen.some((e) => e.type === 'directory-mismatch'),
      false,
    );
  });

  it('detects a key put into the directory under our name, even once put back', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    const mallory = await account();
    await dir.publish([['alice', alice.value()]]);
    const c = await client(dir, alice);
    assert.equal((await c.kt.selfCheck())?.ok, true);
    await dir.publish([['alice', mallory.value(2)]]);
    assert.equal((await c.kt.selfCheck())?.ok, false);
    await c.settle();
    const m = c.seen.find((e) => e.type === 'directory-mismatch');
    assert.match(
      m?.type === 'directory-mismatch' ? m.message : '',
      /the server is showing others a key that is not yours/,
    );
    // Put back between two checks: the version jump gives it away.
    const d = await client(dir, alice);
    const fresh = dir.fork();
    d.useServer(fresh);
    await fresh.publish([['alice', alice.value(3)]]);
    assert.equal((await d.kt.selfCheck())?.ok, true);
    await fresh.publish([['alice', mallory.value(4)]]);
    await fresh.publish([['alice', alice.value(5)]]);
    assert.equal((await d.kt.selfCheck())?.ok, false);
  });

  it('detects our update dropped from the map while the server serves it', async () => {
    const dir = await new TestDirectory().init();
    const alice = await account();
    await dir.publish([['alice', alice.value()]]);
    const c = await client(dir, alice);
    assert.equal((await c.kt.selfCheck())?.ok, true);
    // Alice links a device (list version 2); the server serves the new list but never puts it in the map.
    const newer = await signDeviceList(provider, alice.key.privateKey, 2, [...alice.list.devices]);
    alice.list = newer as SignedDeviceList;
    await dir.publish([]);
    // Within the grace a change not yet in an epoch is normal; past it, it was dropped.
    assert.equal((await c.kt.selfCheck())?.ok, true);
    c.advance(61_000);
    assert.equal((await c.kt.selfCheck())?.ok, false);
    await c.settle();
    assert.ok(c.seen.some((e) => e.type === 'directory-mismatch'));
    // With checks off there is no self-check at all.
    const off = await client(dir, alice, { enabled: false });
    assert.equal(await off.kt.selfCheck(), undefined);
  });
});
