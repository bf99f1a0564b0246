import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { accountNameSkeleton } from '@parley/protocol';
import { vrfKeyPair } from '@parley/protocol/kt';
import { createNodeCryptoProvider } from '@parley/protocol/node';
import { KeyDirectory, openPostgresStorage, openSqliteStorage, type Storage } from '@parley/server';
import { dropSchema, POSTGRES_URL, postgresSkipReason } from '../helpers/services.ts';

interface Backend {
  readonly name: string;
  skip(): Promise<string | undefined>;
  /** The store, and `peer` opening a second handle on the same database (another node's pool). */
  open(): Promise<{ storage: Storage; peer(): Promise<Storage>; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    skip: async () => undefined,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'parley-contract-'));
      const storage = await openSqliteStorage(dir, 'full');
      // SQLite is the single-node store: one process, one handle, so the "peer" is the same handle.
      return { storage, peer: async () => storage, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    skip: postgresSkipReason,
    async open() {
      const schema = `parley_test_${randomBytes(6).toString('hex')}`;
      const storage = await openPostgresStorage(POSTGRES_URL, { schema });
      return { storage, peer: () => openPostgresStorage(POSTGRES_URL, { schema }), cleanup: () => dropSchema(schema) };
    },
  },
];

const key = (n: number, len = 32) => new Uint8Array(len).fill(n);
/** A KeyPackage take's grant to a device that never commits. */
const grant = { to: { account: 'nobody', device: 1 }, expiresAt: 1e12 };
/** Queue caps of `messages` and no byte cap to speak of. */
const caps = (messages: number) => ({ messages, bytes: Number.MAX_SAFE_INTEGER });
const identity = (n: number) => key(n, 128);

function account(name: string, devices = [1]) {
  return {
    name,
    accountKey: key(1),
    deviceList: key(2, 100),
    listVersion: 1,
    createdAt: 1000,
    skeleton: accountNameSkeleton(name),
    devices: devices.map((id) => ({ account: name, id, identity: identity(id) })),
  };
}

for (const backend of backends) {
  describe(`storage contract: ${backend.name}`, async () => {
    const reason = await backend.skip();
    let storage: Storage;
    /** A second handle on the same database: on PostgreSQL its own pool, as another node has. */
    let peer: Storage;
    let cleanup: () => Promise<void>;
    before(async () => {
      if (reason !== undefined) return;
      let openPeer: () => Promise<Storage>;
      ({ storage, peer: openPeer, cleanup } = await backend.open());
      peer = await openPeer();
    });
    after(async () => {
      if (reason !== undefined) return;
      if (peer !== storage) await peer.close();
      await storage.close();
      await cleanup();
    });
    const test = (name: string, fn: () => Promise<void>) => it(name, { skip: reason }, fn);

    test('refuses a name whose skeleton another account has (name-confusable), from any handle', async () => {
      assert.equal(await storage.createAccount(account('lookalike')), 'created');
      assert.equal(await storage.createAccount(account('l0okalike')), 'name-confusable');
      assert.equal(await peer.createAccount(account('lookaiike.')), 'name-confusable');
      assert.equal(await peer.createAccount(account('lookalike')), 'name-taken');
      assert.equal(await storage.getAccount('l0okalike'), undefined);
      assert.equal((await storage.listDevices('lookaiike.')).length, 0);
      assert.equal(await storage.createAccount(account('lookalikes')), 'created');
    });

    test('creates an account once; a taken name and a bad invite are refused', async () => {
      assert.equal(await storage.createAccount(account('alice')), 'created');
      assert.equal(await storage.createAccount(account('alice')), 'name-taken');
      assert.equal(await storage.createAccount(account('bob'), key(9)), 'bad-invite');
      assert.equal(await storage.getAccount('bob'), undefined);
      await storage.createInvite(key(9), 1);
      assert.equal(await storage.createAccount(account('bob'), key(9)), 'created');
      assert.equal(await storage.createAccount(account('carol'), key(9)), 'bad-invite');
      const a = await storage.getAccount('alice');
      assert.deepEqual(a?.accountKey, key(1));
      assert.equal(a?.listVersion, 1);
      assert.deepEqual(
        (await storage.listDevices('alice')).map((d) => d.id),
        [1],
      );
      assert.deepEqual(await storage.deviceSet('alice'), [
        { id: 1, keyId: Buffer.from(key(1, 8)).toString('base64url') },
      ]);
      assert.deepEqual(await storage.deviceSet('nobody'), []);
    });

    test('prekeys: counts, atomic one-time takes under concurrency, last-resort fallback', async () => {
      const signed = { id: 1, publicKey: key(3), signature: key(4, 64), createdAt: 1_700_000_000 };
      const oneTimePreKeys = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, publicKey: key(10 + i) }));
      const kemPreKeys = Array.from({ length: 5 }, (_, i) => ({
        id: 100 + i,
        publicKey: key(50 + i, 1568),
        signature: key(5, 64),
        createdAt: 1_700_000_000,
      }));
      const lastResortKemPreKey = { id: 99, publicKey: key(7, 1568), signature: key(8, 64), createdAt: 1_700_000_000 };
      const counts = await storage.storePreKeys('alice', 1, {
        signedPreKey: signed,
        oneTimePreKeys,
        kemPreKeys,
        lastResortKemPreKey,
      });
      assert.deepEqual(counts, { oneTime: 10, kem: 5 });
      const taken = await Promise.all(Array.from({ length: 16 }, () => storage.takeBundle('alice', 1)));
      const otps = taken.flatMap((t) => (t?.oneTimePreKey ? [t.oneTimePreKey.id] : []));
      assert.equal(otps.length, 10);
      assert.equal(new Set(otps).size, 10);
      const kems = taken.filter((t) => t?.kemPreKey.lastResort === false).map((t) => t?.kemPreKey.id);
      assert.equal(new Set(kems).size, 5);
      assert.equal(taken.filter((t) => t?.kemPreKey.lastResort === true && t.kemPreKey.id === 99).length, 11);
      assert.deepEqual(await storage.countPreKeys('alice', 1), { oneTime: 0, kem: 0 });
      assert.equal(await storage.takeBundle('bob', 1), undefined, 'no signed prekey: no bundle');
    });

    test('prekeys keep their signed creation time', async () => {
      await storage.createAccount(account('dated'));
      await storage.storePreKeys('dated', 1, {
        signedPreKey: { id: 3, publicKey: key(1), signature: key(2, 64), createdAt: 1_800_000_001 },
        oneTimePreKeys: [],
        kemPreKeys: [{ id: 4, publicKey: key(3, 1568), signature: key(4, 64), createdAt: 1_800_000_002 }],
        lastResortKemPreKey: { id: 5, publicKey: key(5, 1568), signature: key(6, 64), createdAt: 1_800_000_003 },
      });
      const one = await storage.takeBundle('dated', 1);
      assert.equal(one?.signedPreKey.createdAt, 1_800_000_001);
      assert.deepEqual([one?.kemPreKey.id, one?.kemPreKey.createdAt], [4, 1_800_000_002]);
      const last = await storage.takeBundle('dated', 1);
      assert.deepEqual([last?.kemPreKey.id, last?.kemPreKey.createdAt], [5, 1_800_000_003]);
    });

    test('connection tokens: first, match, mismatch (from any handle), missing device', async () => {
      await storage.createAccount(account('tok'));
      assert.equal(await storage.rotateAuthToken('tok', 1, undefined, key(1)), 'first');
      assert.equal(await peer.rotateAuthToken('tok', 1, key(1), key(2)), 'match');
      // A copy presenting the older token, or none.
      assert.equal(await storage.rotateAuthToken('tok', 1, key(1), key(3)), 'mismatch');
      assert.equal(await storage.rotateAuthToken('tok', 1, undefined, key(4)), 'mismatch');
      assert.equal(await storage.rotateAuthToken('tok', 1, key(4), key(5)), 'match');
      assert.equal(await storage.rotateAuthToken('tok', 2, undefined, key(6)), 'missing');
    });

    test("a send's own expiry (a disappearing message) ends its copies before the queue TTL", async () => {
      const msg = (id: string, body: number, expiresAt?: number) => ({
        sender: 'bob',
        senderDevice: 1,
        messageId: id,
        messages: [{ account: 'erin', device: 1, kind: 2, body: key(body, 20) }],
        ...(expiresAt === undefined ? {} : { expiresAt }),
      });
      await storage.enqueue(
        [msg('x-00001', 1, 6000), msg('x-00002', 2), msg('x-00003', 3, 20000)],
        5000,
        9000,
        caps(10),
      );
      const body = async (now: number) => (await storage.pending('erin', 1, 0, 10, now)).map((m) => m.body[0]);
      assert.deepEqual(await body(5500), [1, 2, 3]);
      assert.deepEqual(await body(6000), [2, 3], 'its own expiry');
      assert.deepEqual(await body(9000), [], 'never later than the queue TTL');
      assert.equal(await storage.purgeExpired(6000, 0), 1);
      // Leaves the queues as it found them for the tests after it.
      const left = await storage.pending('erin', 1, 0, 10, 5500);
      await storage.acknowledge([{ account: 'erin', device: 1, seqs: left.map((m) => m.seq) }]);
      assert.deepEqual(await body(5500), []);
    });

    test('queues: order, duplicates, caps, pending after a seq, acknowledgement of own rows only', async () => {
      const item = (id: string, body: number) => ({
        sender: 'bob',
        senderDevice: 1,
        messageId: id,
        messages: [{ account: 'alice', device: 1, kind: 2, body: key(body, 20) }],
      });
      const out = await storage.enqueue(
        [item('m-00001', 1), item('m-00002', 2), item('m-00001', 3)],
        5000,
        9000,
        caps(3),
      );
      assert.deepEqual(
        out.map((o) => o.status),
        ['queued', 'queued', 'duplicate'],
      );
      const full = await storage.enqueue([item('m-00003', 4), item('m-00004', 5)], 5000, 9000, caps(3));
      assert.deepEqual(
        full.map((o) => o.status),
        ['queued', 'queue-full'],
      );
      const pending = await storage.pending('alice', 1, 0, 10, 6000);
      assert.deepEqual(
        pending.map((m) => m.body[0]),
        [1, 2, 4],
      );
      assert.ok((pending[0]?.seq ?? 0) < (pending[1]?.seq ?? 0));
      assert.equal(pending[0]?.messageId, 'm-00001');
      const after = await storage.pending('alice', 1, pending[0]?.seq ?? 0, 10, 6000);
      assert.equal(after.length, 2);
      // bob cannot delete alice's messages by naming their seqs.
      await storage.acknowledge([{ account: 'bob', device: 1, seqs: pending.map((m) => m.seq) }]);
      assert.equal(await storage.queueDepth('alice', 1), 3);
      await storage.acknowledge([{ account: 'alice', device: 1, seqs: [pending[0]?.seq ?? 0] }]);
      assert.equal(await storage.queueDepth('alice', 1), 2);
      // A batch's acknowledgements commit with its sends.
      const next = await storage.enqueue([item('m-00005', 6)], 5000, 9000, caps(10), [
        { account: 'alice', device: 1, seqs: [pending[1]?.seq ?? 0] },
      ]);
      assert.equal(next[0]?.status, 'queued');
      assert.deepEqual(
        (await storage.pending('alice', 1, 0, 10, 6000)).map((m) => m.body[0]),
        [4, 6],
      );
      assert.equal((await storage.pending('alice', 1, 0, 10, 9500)).length, 0, 'expired messages are not served');
      assert.equal(await storage.purgeExpired(9500, 0), 2);
      assert.equal(await storage.queueDepth('alice', 1), 0);
    });

    test('device lists: compare-and-set on the version; removal drops the device’s prekeys and queue', async () => {
      await storage.createAccount(account('dave', [1, 2]));
      await storage.storePreKeys('dave', 2, { oneTimePreKeys: [{ id: 1, publicKey: key(1) }], kemPreKeys: [] });
      await storage.enqueue(
        [
          {
            sender: 'alice',
            senderDevice: 1,
            messageId: 'to-dave-2',
            messages: [{ account: 'dave', device: 2, kind: 2, body: key(1) }],
          },
        ],
        1,
        10_000_000,
        caps(100),
      );
      const list = {
        bytes: key(3, 120),
        version: 2,
        devices: [
          { account: 'dave', id: 1, identity: identity(1) },
          { account: 'dave', id: 3, identity: identity(3) },
        ],
      };
      assert.deepEqual(await storage.updateDeviceList('dave', 5, list), { status: 'stale' });
      assert.deepEqual(await storage.updateDeviceList('dave', 1, list), { status: 'updated', removed: [2] });
      assert.deepEqual(
        (await storage.deviceSet('dave')).map((d) => d.id),
        [1, 3],
      );
      assert.equal((await storage.getAccount('dave'))?.listVersion, 2);
      assert.equal(await storage.queueDepth('dave', 2), 0);
      assert.deepEqual(await storage.countPreKeys('dave', 2), { oneTime: 0, kem: 0 });
    });

    test('deleteAccount removes the account, its devices, keys, KeyPackages and queues; the name is free again', async () => {
      await storage.createAccount(account('gone', [1, 2]));
      await storage.createAccount(account('stays'));
      await storage.storePreKeys('gone', 1, {
        signedPreKey: { id: 1, publicKey: key(3), signature: key(4, 64), createdAt: 1_700_000_000 },
        oneTimePreKeys: [{ id: 1, publicKey: key(10) }],
        kemPreKeys: [],
      });
      await storage.storeKeyPackages('gone', 2, { oneTime: [key(100, 300)] }, 200);
      const to = (account: string, id: string) => ({
        sender: account === 'gone' ? 'stays' : 'gone',
        senderDevice: 1,
        messageId: id,
        messages: [{ account, device: 1, kind: 2, body: key(7, 20) }],
      });
      await storage.enqueue([to('gone', 'm-del-1'), to('stays', 'm-del-2')], 5000, 9000, caps(10));
      assert.equal(await storage.queueDepth('gone', 1), 1);
      // Only with the account's current key.
      assert.equal(await storage.deleteAccount('gone', key(9)), undefined);
      assert.ok((await storage.getAccount('gone')) !== undefined);
      assert.deepEqual(await peer.deleteAccount('gone', key(1)), [1, 2]);
      assert.equal(await storage.getAccount('gone'), undefined);
      assert.deepEqual(await storage.listDevices('gone'), []);
      assert.deepEqual(await storage.deviceSet('gone'), []);
      assert.equal(await storage.queueDepth('gone', 1), 0);
      assert.deepEqual(await storage.pending('gone', 1, 0, 10, 5000), []);
      assert.deepEqual(await storage.countPreKeys('gone', 1), { oneTime: 0, kem: 0 });
      assert.equal(await storage.takeBundle('gone', 1), undefined);
      assert.deepEqual(await storage.countKeyPackages('gone', 2), { oneTime: 0, lastResort: false });
      // What it sent others stays theirs; the name can be registered again.
      assert.equal((await storage.pending('stays', 1, 0, 10, 5000)).length, 1);
      assert.equal(await storage.deleteAccount('gone', key(1)), undefined);
      assert.equal(await storage.createAccount(account('gone')), 'created');
    });

    test('KeyPackages: stored once each, all or nothing under the cap, last resort replaced', async () => {
      await storage.createAccount(account('erin', [1, 2]));
      const packages = Array.from({ length: 10 }, (_, i) => key(100 + i, 300));
      assert.deepEqual(await storage.storeKeyPackages('erin', 1, { oneTime: packages, lastResort: key(1, 300) }, 200), {
        status: 'stored',
        count: 10,
      });
      // A retried upload does not store the same package twice.
      assert.deepEqual(await storage.storeKeyPackages('erin', 1, { oneTime: packages.slice(0, 5) }, 200), {
        status: 'stored',
        count: 10,
      });
      const more = Array.from({ length: 5 }, (_, i) => key(200 + i, 300));
      assert.deepEqual(await storage.storeKeyPackages('erin', 1, { oneTime: more, lastResort: key(2, 300) }, 12), {
        status: 'too-many',
        count: 10,
      });
      assert.deepEqual(await storage.countKeyPackages('erin', 1), { oneTime: 10, lastResort: true });
      assert.equal(
        await storage.takeKeyPackage('erin', 2, grant),
        undefined,
        'a device with no packages at all yields none',
      );
      assert.deepEqual(await storage.countKeyPackages('erin', 2), { oneTime: 0, lastResort: false });
    });

    test('KeyPackages: concurrent takes (two handles) never return the same one; then the last resort', async () => {
      const packages = Array.from({ length: 12 }, (_, i) => key(i + 1, 200));
      await storage.storeKeyPackages('erin', 2, { oneTime: packages, lastResort: key(77, 200) }, 200);
      const taken = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? storage : peer).takeKeyPackage('erin', 2, grant)),
      );
      const oneTime = taken.filter((t) => t?.lastResort === false).map((t) => t?.keyPackage[0]);
      assert.equal(oneTime.length, 12, 'every one-time package handed out');
      assert.equal(new Set(oneTime).size, 12, 'no one-time package handed out twice');
      const fallback = taken.filter((t) => t?.lastResort === true);
      assert.equal(fallback.length, 8);
      // (`remaining` is what the take's transaction saw: concurrent takes may not have committed yet.)
      assert.ok(fallback.every((t) => t?.keyPackage[0] === 77));
      assert.deepEqual(await storage.countKeyPackages('erin', 2), { oneTime: 0, lastResort: true });
      await storage.storeKeyPackages('erin', 2, { oneTime: [], lastResort: key(78, 200) }, 200);
      const replaced = await storage.takeKeyPackage('erin', 2, grant);
      assert.equal(replaced?.keyPackage[0], 78, 'the new last-resort package replaced the old one');
      assert.equal((await storage.takeKeyPackage('erin', 2, grant))?.keyPackage[0], 78, 'and it is not consumed');
    });

    const gid = (n: number) => Buffer.from(key(n, 16)).toString('base64url');
    const at = (account: string, device: number) => ({ account, device });
    const commitOf = (
      groupId: string,
      epoch: number,
      sender: { account: string; device: number },
      messageId: string,
      members: { account: string; device: number }[],
      welcomeTo: { account: string; device: number }[] = [],
    ) => ({
      groupId,
      epoch,
      sender: sender.account,
      senderDevice: sender.device,
      messageId,
      members,
      commit: { kind: 4, body: key(epoch + 40, 50) },
      ...(welcomeTo.length > 0 ? { welcome: { kind: 5, body: key(epoch + 80, 60), to: welcomeTo } } : {}),
    });
    /** Hands `by` a KeyPackage of each target, which lets `by` list it in a commit (§14.3). */
    const invite = async (by: { account: string; device: number }, targets: { account: string; device: number }[]) => {
      for (const t of targets) {
        await storage.storeKeyPackages(t.account, t.device, { oneTime: [], lastResort: key(90, 100) }, 200);
        assert.ok(await storage.takeKeyPackage(t.account, t.device, { to: by, expiresAt: 1e12 }));
      }
    };
    const kinds = async (s: Storage, account: string, device: number) =>
      (await s.pending(account, device, 0, 100, 0)).map((m) => [m.messageId, m.kind]);

    test('groups: created once; a commit bumps the epoch, replaces the list, queues commit and welcome', async () => {
      await storage.createAccount(account('ga', [1, 2]));
      await storage.createAccount(account('gb', [1]));
      await storage.createAccount(account('gc', [1]));
      const g = gid(1);
      assert.equal(await storage.createGroup(g, at('ga', 1)), 'created');
      assert.equal(await peer.createGroup(g, at('gb', 1)), 'exists');
      assert.deepEqual(await storage.getGroup(g), { groupId: g, epoch: 0, members: [at('ga', 1)] });
      assert.equal(await storage.getGroup(gid(99)), undefined);

      // ga/1 adds its second device and gb: both are welcomed, nobody else is listed yet.
      await invite(at('ga', 1), [at('ga', 2), at('gb', 1)]);
      const first = await storage.commitGroup(
        commitOf(g, 0, at('ga', 1), 'commit-0001', [at('ga', 1), at('ga', 2), at('gb', 1)], [at('ga', 2), at('gb', 1)]),
        1000,
        10_000_000,
        caps(100),
      );
      assert.equal(first.status, 'committed');
      assert.equal(first.status === 'committed' && first.epoch, 1);
      assert.deepEqual(first.status === 'committed' && first.deliveries.map((d) => [d.account, d.device, d.welcome]), [
        ['ga', 2, true],
        ['gb', 1, true],
      ]);
      assert.deepEqual(await kinds(storage, 'gb', 1), [['commit-0001', 5]]);
      assert.deepEqual(await kinds(storage, 'ga', 1), [], 'the committer gets nothing');

      // gb/1 removes ga/2 and adds gc: the commit reaches ga/1 and the removed ga/2, the welcome gc.
      await invite(at('gb', 1), [at('gc', 1)]);
      const second = await peer.commitGroup(
        commitOf(g, 1, at('gb', 1), 'commit-0002', [at('ga', 1), at('gb', 1), at('gc', 1)], [at('gc', 1)]),
        1000,
        10_000_000,
        caps(100),
      );
      assert.deepEqual(
        second.status === 'committed' && [second.epoch, second.deliveries.map((d) => [d.account, d.device, d.welcome])],
        [
          2,
          [
            ['ga', 1, false],
            ['ga', 2, false],
            ['gc', 1, true],
          ],
        ],
      );
      assert.deepEqual(await kinds(storage, 'ga', 2), [
        ['commit-0001', 5],
        ['commit-0002', 4],
      ]);
      assert.deepEqual(await storage.getGroup(g), {
        groupId: g,
        epoch: 2,
        members: [at('ga', 1), at('gb', 1), at('gc', 1)],
      });
      assert.deepEqual(await storage.groupsOf('ga'), [{ groupId: g, epoch: 2, devices: [1] }]);
      assert.deepEqual(await storage.groupsOf('nobody'), []);
    });

    test('groups: refusals (unknown group, not a member, epoch moved) change nothing; a replayed id is a duplicate', async () => {
      const g = gid(1);
      const depth = async () => [await storage.queueDepth('ga', 1), await storage.queueDepth('gc', 1)];
      const before = await depth();
      const members = [at('ga', 1), at('gb', 1), at('gc', 1)];
      const refused = async (c: ReturnType<typeof commitOf>) => storage.commitGroup(c, 1000, 10_000_000, caps(100));
      assert.deepEqual(await refused(commitOf(gid(98), 0, at('ga', 1), 'commit-x001', members)), {
        status: 'unknown-group',
      });
      assert.deepEqual(await refused(commitOf(g, 2, at('ga', 2), 'commit-x002', members)), { status: 'not-a-member' });
      assert.deepEqual(await refused(commitOf(g, 1, at('ga', 1), 'commit-x003', members)), {
        status: 'epoch-moved',
        epoch: 2,
      });
      // gb/1 retries its accepted commit on epoch 1 (the answer was lost): a duplicate, not a stale epoch.
      const retry = commitOf(g, 1, at('gb', 1), 'commit-0002', members, [at('gc', 1)]);
      assert.deepEqual(await refused(retry), { status: 'duplicate' });
      assert.deepEqual(await depth(), before);
      assert.equal((await storage.getGroup(g))?.epoch, 2);
      // The refused message ids were not used up.
      const ok = await refused(commitOf(g, 2, at('ga', 1), 'commit-x003', members));
      assert.equal(ok.status, 'committed');
    });

    test('groups: concurrent commits on one epoch from two handles — exactly one wins', async () => {
      await storage.createAccount(account('race', [1, 2, 3, 4]));
      const g = gid(2);
      await storage.createGroup(g, at('race', 1));
      const all = [1, 2, 3, 4].map((d) => at('race', d));
      await invite(at('race', 1), all.slice(1));
      const grow = await storage.commitGroup(
        commitOf(g, 0, at('race', 1), 'race-grow', all, all.slice(1)),
        1,
        1e12,
        caps(100),
      );
      assert.equal(grow.status, 'committed');
      const outcomes = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 === 0 ? storage : peer).commitGroup(
            commitOf(g, 1, at('race', (i % 4) + 1), `race-${String(i).padStart(4, '0')}`, all),
            1,
            1e12,
            caps(100),
          ),
        ),
      );
      assert.equal(outcomes.filter((o) => o.status === 'committed').length, 1, JSON.stringify(outcomes));
      assert.ok(outcomes.every((o) => o.status === 'committed' || (o.status === 'epoch-moved' && o.epoch === 2)));
      assert.equal((await storage.getGroup(g))?.epoch, 2);
      const queued = await Promise.all(all.map((a) => storage.queueDepth(a.account, a.device)));
      assert.equal(
        queued.reduce((n, x) => n + x, 0),
        3 + 3,
        'three welcomes and the one winning commit (to the three other devices)',
      );
    });

    test('group fan-out: one send item reaches devices of several accounts under one message id', async () => {
      const item = (id: string) => ({
        sender: 'ga',
        senderDevice: 1,
        messageId: id,
        messages: [at('gb', 1), at('gc', 1)].map((a) => ({ ...a, kind: 4, body: key(9, 30) })),
      });
      const [sent, dup] = await storage.enqueue([item('fan-00001'), item('fan-00001')], 2000, 1e12, caps(100));
      assert.equal(sent?.status, 'queued');
      assert.deepEqual(sent?.status === 'queued' && sent.seqs.map((q) => [q.account, q.device]), [
        ['gb', 1],
        ['gc', 1],
      ]);
      assert.equal(dup?.status, 'duplicate');
      const gc = await storage.pending('gc', 1, 0, 100, 0);
      assert.equal(gc.filter((m) => m.messageId === 'fan-00001').length, 1);
      const targets = [at('gb', 1), at('gc', 1)];
      const depths = await Promise.all(targets.map((a) => storage.queueDepth(a.account, a.device)));
      const cap = depths[0] ?? 0;
      const [full] = await storage.enqueue([item('fan-00002')], 2000, 1e12, caps(cap));
      assert.deepEqual(full, {
        status: 'queue-full',
        devices: targets.filter((_, i) => (depths[i] ?? 0) >= cap),
        reason: 'queue',
      });
      assert.equal((await storage.pending('gc', 1, 0, 100, 0)).length, gc.length, 'a refused item stores nothing');
    });

    test('group commits: a full queue on the new list refuses; one on a removed device is skipped', async () => {
      await storage.createAccount(account('cap', [1, 2, 3]));
      const g = gid(3);
      await storage.createGroup(g, at('cap', 1));
      const all = [1, 2, 3].map((d) => at('cap', d));
      await invite(at('cap', 1), all.slice(1));
      await storage.commitGroup(commitOf(g, 0, at('cap', 1), 'cap-00000', all, all.slice(1)), 1, 1e12, caps(100));
      // Devices 2 and 3 each hold one welcome: at a cap of 1, the commit listing them is refused.
      const keep3 = await storage.commitGroup(commitOf(g, 1, at('cap', 1), 'cap-00001', all), 1, 1e12, caps(1));
      assert.deepEqual(keep3, { status: 'queue-full', devices: [at('cap', 2), at('cap', 3)], reason: 'queue' });
      const drop3 = await storage.commitGroup(
        commitOf(g, 1, at('cap', 1), 'cap-00002', all.slice(0, 2)),
        1,
        1e12,
        caps(2),
      );
      assert.equal(drop3.status, 'committed');
      const removeFull = await storage.commitGroup(
        commitOf(g, 2, at('cap', 1), 'cap-00003', all.slice(0, 1)),
        1,
        1e12,
        caps(2),
      );
      assert.equal(removeFull.status, 'committed', 'the removed device 2 (at cap) is skipped, not blocking');
      assert.deepEqual(
        removeFull.status === 'committed' && removeFull.deliveries,
        [],
        'device 2 (removed now) is at its cap of 2; device 3 was removed before',
      );
    });

    test('device removal drops the device’s KeyPackages and delivery-list rows; empty groups are purged', async () => {
      await storage.createAccount(account('frank', [1, 2]));
      await storage.storeKeyPackages('frank', 2, { oneTime: [key(5, 100)], lastResort: key(6, 100) }, 200);
      const shared = gid(4);
      const alone = gid(5);
      await storage.createGroup(shared, at('frank', 1));
      const both = [at('frank', 1), at('frank', 2)];
      assert.ok(await storage.takeKeyPackage('frank', 2, { to: at('frank', 1), expiresAt: 1e12 }));
      // A listed device id the account does not have (device 9) is left out of the list.
      const c = await storage.commitGroup(
        commitOf(shared, 0, at('frank', 1), 'frank-0001', [...both, at('frank', 9)], [at('frank', 2), at('frank', 9)]),
        1,
        1e12,
        caps(100),
      );
      assert.deepEqual(c.status === 'committed' && c.deliveries.map((d) => d.device), [2]);
      await storage.createGroup(alone, at('frank', 2));
      assert.deepEqual(
        (await storage.groupsOf('frank')).map((x) => [x.groupId, x.devices]),
        [
          [shared, [1, 2]],
          [alone, [2]],
        ].sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
      );
      const list = { bytes: key(3, 120), version: 2, devices: [{ account: 'frank', id: 1, identity: identity(1) }] };
      assert.deepEqual(await storage.updateDeviceList('frank', 1, list), { status: 'updated', removed: [2] });
      assert.deepEqual(await storage.countKeyPackages('frank', 2), { oneTime: 0, lastResort: false });
      assert.equal(await storage.takeKeyPackage('frank', 2, grant), undefined);
      assert.deepEqual((await storage.getGroup(shared))?.members, [at('frank', 1)]);
      assert.deepEqual((await storage.getGroup(alone))?.members, []);
      await storage.purgeExpired(0, 0);
      assert.equal(await storage.getGroup(alone), undefined, 'a group no device is listed in is purged');
      assert.notEqual(await storage.getGroup(shared), undefined);
    });

    test('group bodies: stored once for every device, served to each, gone with the last acknowledgement', async () => {
      await storage.createAccount(account('bod', [1, 2, 3]));
      const body = key(7, 10_000);
      const targets = [1, 2, 3].map((d) => at('bod', d));
      const base = await storage.storedQueueBytes();
      const [sent] = await storage.enqueue(
        [
          {
            sender: 'ga',
            senderDevice: 1,
            messageId: 'bod-00001',
            messages: targets.map((a) => ({ ...a, kind: 4, body })),
            sharedBody: true,
          },
        ],
        2000,
        1e12,
        caps(100),
      );
      assert.equal(sent?.status, 'queued');
      const stored = (await storage.storedQueueBytes()) - base;
      assert.ok(stored >= body.length && stored < 2 * body.length, `one copy stored, not three (${stored} bytes)`);
      for (const a of targets) {
        const [m] = await storage.pending(a.account, a.device, 0, 10, 0);
        assert.deepEqual(m?.body, body, `device ${a.device} reads the whole body`);
      }
      const seqs = sent?.status === 'queued' ? sent.seqs : [];
      await storage.acknowledge(seqs.slice(0, 2).map((q) => ({ account: q.account, device: q.device, seqs: [q.seq] })));
      assert.deepEqual((await storage.pending('bod', 3, 0, 10, 0))[0]?.body, body, 'the last reference still reads it');
      assert.equal((await storage.storedQueueBytes()) - base, stored);
      const last = seqs[2];
      assert.ok(last);
      await storage.enqueue([], 2000, 1e12, caps(100), [{ account: 'bod', device: 3, seqs: [last.seq] }]);
      assert.equal(await storage.storedQueueBytes(), base, 'the body went with its last reference');

      // A commit and its welcome: each stored once; expiry takes them with their rows.
      const g = gid(6);
      await storage.createGroup(g, at('bod', 1));
      await invite(at('bod', 1), targets.slice(1));
      const big = { ...commitOf(g, 0, at('bod', 1), 'bod-00002', targets, targets.slice(1)) };
      const c = await storage.commitGroup(big, 1, 5000, caps(100));
      assert.equal(c.status, 'committed');
      assert.ok((await storage.storedQueueBytes()) - base < 2 * 60, 'the welcome (60 bytes) stored once');
      await storage.purgeExpired(5000, 0);
      assert.equal(await storage.storedQueueBytes(), base, 'expired rows take their shared body along');
    });

    test('queue caps: a device’s queue is capped in bytes as well as in messages', async () => {
      await storage.createAccount(account('bytes', [1]));
      const item = (id: string, size: number) => ({
        sender: 'ga',
        senderDevice: 1,
        messageId: id,
        messages: [{ account: 'bytes', device: 1, kind: 2, body: key(3, size) }],
      });
      const cap = { messages: 100, bytes: 1000 };
      const [a, b] = await storage.enqueue([item('byte-0001', 600), item('byte-0002', 600)], 1, 1e12, cap);
      assert.equal(a?.status, 'queued');
      assert.deepEqual(
        b,
        { status: 'queue-full', devices: [at('bytes', 1)], reason: 'queue' },
        '1,200 bytes pass a cap of 1,000',
      );
      const [small] = await storage.enqueue([item('byte-0003', 400)], 1, 1e12, cap);
      assert.equal(small?.status, 'queued', 'exactly at the cap is allowed');
    });

    test('queue caps: one sender holds at most its share of a device’s queue (messages and bytes); others still get in', async () => {
      await storage.createAccount(account('share', [1, 2]));
      const item = (sender: string, id: string, size = 10) => ({
        sender,
        senderDevice: 1,
        messageId: id,
        messages: [{ account: 'share', device: 1, kind: 2, body: key(3, size) }],
      });
      const cap = { messages: 6, bytes: 1e9, senderMessages: 2, senderBytes: 1000 };
      const first = await storage.enqueue(
        [item('fa', 'share-001'), item('fa', 'share-002'), item('fa', 'share-003'), item('fb', 'share-004')],
        1,
        1e12,
        cap,
      );
      assert.deepEqual(
        first.map((o) => o.status),
        ['queued', 'queued', 'queue-full', 'queued'],
      );
      assert.deepEqual(first[2], { status: 'queue-full', devices: [at('share', 1)], reason: 'sender-share' });
      const [big] = await storage.enqueue([item('fc', 'share-005', 1200)], 1, 1e12, cap);
      assert.deepEqual(big, { status: 'queue-full', devices: [at('share', 1)], reason: 'sender-share' }, 'bytes too');
      // The account's own devices are not held to a share (they hold copies of what it sent).
      const own = await storage.enqueue(
        [item('share', 'share-006'), item('share', 'share-007'), item('share', 'share-008')],
        1,
        1e12,
        cap,
      );
      assert.deepEqual(
        own.map((o) => o.status),
        ['queued', 'queued', 'queued'],
      );
      // Six messages: the whole queue is full, and the refusal says so.
      const [whole] = await storage.enqueue([item('fd', 'share-009')], 1, 1e12, cap);
      assert.deepEqual(whole, { status: 'queue-full', devices: [at('share', 1)], reason: 'queue' });
      // An acknowledgement frees the sender's share.
      const [seqA] = await storage.pending('share', 1, 0, 1, 1);
      assert.equal(seqA?.sender, 'fa');
      const [again] = await storage.enqueue([item('fa', 'share-010')], 1, 1e12, cap, [
        { account: 'share', device: 1, seqs: [seqA?.seq ?? 0] },
      ]);
      assert.equal(again?.status, 'queued');
      // A group commit from a sender at its share is refused the same way.
      const g = gid(9);
      await storage.createAccount(account('fa', [1]));
      await storage.createGroup(g, at('fa', 1));
      await invite(at('fa', 1), [at('share', 1)]);
      const c = await storage.commitGroup(
        commitOf(g, 0, at('fa', 1), 'share-011', [at('fa', 1), at('share', 1)]),
        1,
        1e12,
        {
          ...cap,
          messages: 100,
        },
      );
      assert.deepEqual(c, { status: 'queue-full', devices: [at('share', 1)], reason: 'sender-share' });
    });

    test('delivery list: a device joins only with a KeyPackage handed to the committer, once, before it expires', async () => {
      await storage.createAccount(account('inv', [1, 2, 3]));
      await storage.createAccount(account('stranger', [1]));
      const g = gid(7);
      await storage.createGroup(g, at('inv', 1));
      const commit = (epoch: number, id: string, members: { account: string; device: number }[]) =>
        storage.commitGroup(commitOf(g, epoch, at('inv', 1), id, members), 1000, 1e12, caps(100));
      assert.deepEqual(await commit(0, 'inv-00001', [at('inv', 1), at('stranger', 1)]), {
        status: 'not-invited',
        devices: [at('stranger', 1)],
      });
      // Handed to another device of the same account: not this committer's.
      await storage.storeKeyPackages('stranger', 1, { oneTime: [], lastResort: key(91, 100) }, 200);
      await storage.takeKeyPackage('stranger', 1, { to: at('inv', 2), expiresAt: 1e12 });
      assert.equal((await commit(0, 'inv-00002', [at('inv', 1), at('stranger', 1)])).status, 'not-invited');
      // Expired.
      await storage.takeKeyPackage('stranger', 1, { to: at('inv', 1), expiresAt: 1000 });
      assert.equal((await commit(0, 'inv-00003', [at('inv', 1), at('stranger', 1)])).status, 'not-invited');
      await storage.takeKeyPackage('stranger', 1, { to: at('inv', 1), expiresAt: 2000 });
      assert.equal((await commit(0, 'inv-00004', [at('inv', 1), at('stranger', 1)])).status, 'committed');
      // Listed devices stay without a new grant; a removed one needs a new one to come back.
      assert.equal((await commit(1, 'inv-00005', [at('inv', 1)])).status, 'committed');
      assert.equal((await commit(2, 'inv-00006', [at('inv', 1), at('stranger', 1)])).status, 'not-invited');
      assert.equal((await storage.getGroup(g))?.epoch, 2);
    });

    test('sparing one-time stock: a bundle or KeyPackage taken with spare uses only the last-resort keys', async () => {
      await storage.createAccount(account('spare', [1]));
      await storage.storePreKeys('spare', 1, {
        signedPreKey: { id: 1, publicKey: key(1), signature: key(2, 64), createdAt: 1_700_000_000 },
        oneTimePreKeys: [{ id: 5, publicKey: key(5) }],
        kemPreKeys: [{ id: 6, publicKey: key(6, 1184), signature: key(7, 64), createdAt: 1_700_000_000 }],
        lastResortKemPreKey: { id: 9, publicKey: key(9, 1184), signature: key(8, 64), createdAt: 1_700_000_000 },
      });
      const spared = await storage.takeBundle('spare', 1, true);
      assert.equal(spared?.oneTimePreKey, undefined);
      assert.deepEqual([spared?.kemPreKey.id, spared?.kemPreKey.lastResort], [9, true]);
      assert.deepEqual(await storage.countPreKeys('spare', 1), { oneTime: 1, kem: 1 }, 'nothing one-time was taken');
      const taken = await storage.takeBundle('spare', 1);
      assert.deepEqual([taken?.oneTimePreKey?.id, taken?.kemPreKey.id], [5, 6]);

      await storage.storeKeyPackages('spare', 1, { oneTime: [key(30, 100)], lastResort: key(31, 100) }, 200);
      const lastResort = await storage.takeKeyPackage('spare', 1, grant, true);
      assert.deepEqual([lastResort?.keyPackage[0], lastResort?.lastResort], [31, true]);
      assert.equal((await storage.countKeyPackages('spare', 1)).oneTime, 1);
    });

    test('link channels: opened once, seen and answered from another handle once, the answer taken once; closing, expiry and the bound hold', async () => {
      const rec = (n: number, expiresAt: number) => ({
        identity: `id${n}`,
        name: `phone ${n}`,
        mac: `mac${n}`,
        expiresAt,
      });
      const id = `chan-${backend.name}-${randomBytes(4).toString('hex')}`;
      assert.equal(await storage.openLinkChannel(id, rec(1, 5000), 1000, 100), 'opened');
      assert.equal(await peer.openLinkChannel(id, rec(2, 5000), 1000, 100), 'in-use', 'an open id is not reused');
      // Another node (peer) sees what the new device published and answers it, once.
      assert.deepEqual(await peer.getLinkChannel(id, 2000), rec(1, 5000));
      assert.equal(await peer.getLinkChannel(id, 5000), undefined, 'expired at its time');
      assert.equal(await peer.answerLinkChannel(id, 'sealed-body', 5000), false, 'an expired channel takes no answer');
      assert.equal(await peer.answerLinkChannel(id, 'sealed-body', 2000), true);
      assert.equal(await peer.answerLinkChannel(id, 'other-body', 2000), false, 'answered once');
      assert.equal(await peer.getLinkChannel(id, 2000), undefined, 'an answered channel is no longer offered');
      assert.deepEqual(await storage.takeLinkAnswers([id]), [{ id, body: 'sealed-body' }]);
      assert.deepEqual(await storage.takeLinkAnswers([id]), [], 'the answer is taken once');
      assert.equal(await peer.getLinkChannel(id, 2000), undefined);
      // A closed channel's id is free at once; an expired id may be opened again.
      const other = `${id}-b`;
      assert.equal(await storage.openLinkChannel(other, rec(3, 3000), 1000, 100), 'opened');
      await storage.closeLinkChannel(other);
      assert.equal(await storage.getLinkChannel(other, 1000), undefined, 'closed');
      assert.equal(await storage.openLinkChannel(other, rec(4, 3000), 1000, 100), 'opened');
      assert.equal(await storage.openLinkChannel(other, rec(5, 9000), 3000, 100), 'opened', 'expired: replaced');
      assert.deepEqual(await storage.getLinkChannel(other, 4000), rec(5, 9000));
      // At most `max` open at once (expired ones do not count); the purge removes expired ones.
      assert.equal(await storage.openLinkChannel(`${id}-c`, rec(6, 9000), 3000, 1), 'full', 'the bound');
      assert.equal(await storage.openLinkChannel(`${id}-c`, rec(6, 20_000), 10_000, 1), 'opened', 'after expiry');
      await storage.purgeExpired(20_000, 0);
      assert.equal(await storage.getLinkChannel(`${id}-c`, 0), undefined, 'purged');
      assert.equal(await storage.openLinkChannel(`${id}-c`, rec(7, 30_000), 0, 1), 'opened', 'its id is free again');
      await storage.closeLinkChannel(`${id}-c`);
      await storage.closeLinkChannel(other);
      // A node looking for answers to the channels it holds takes the answered ones only, once.
      const ids = ['d', 'e', 'f'].map((x) => `${id}-${x}`);
      for (const x of ids) assert.equal(await storage.openLinkChannel(x, rec(8, 9000), 1000, 100), 'opened');
      assert.equal(await peer.answerLinkChannel(ids[0] as string, 'body-d', 1000), true);
      assert.equal(await peer.answerLinkChannel(ids[2] as string, 'body-f', 1000), true);
      assert.deepEqual(await storage.takeLinkAnswers([]), []);
      assert.deepEqual(
        (await storage.takeLinkAnswers([...ids, `${id}-unknown`])).sort((x, y) => x.id.localeCompare(y.id)),
        [
          { id: ids[0], body: 'body-d' },
          { id: ids[2], body: 'body-f' },
        ],
      );
      assert.deepEqual(await storage.takeLinkAnswers(ids), []);
      assert.deepEqual(await storage.getLinkChannel(ids[1] as string, 1000), rec(8, 9000), 'the unanswered one stays');
      await storage.closeLinkChannel(ids[1] as string);
    });

    test('key directory: keys are recorded once, pending changes, the writer lease, epochs commit once', async () => {
      assert.equal(await storage.ktRecordKeys(key(40), key(41)), 'recorded');
      assert.equal(await peer.ktRecordKeys(key(40), key(41)), 'match');
      assert.equal(await peer.ktRecordKeys(key(42), key(41)), 'mismatch');
      // Account creation and device-list changes enqueue the account in their own transaction.
      assert.equal(await storage.createAccount(account('ktuser')), 'created');
      assert.equal(
        (await storage.updateDeviceList('ktuser', 1, { bytes: key(3, 90), version: 2, devices: [] })).status,
        'updated',
      );
      const pending = await storage.ktPending(100_000);
      assert.ok(pending.names.includes('ktuser'));
      assert.equal(pending.names.filter((n) => n === 'ktuser').length, 1, 'deduplicated');
      const [cand] = await peer.ktCandidates(['ktuser', 'nosuchaccount']);
      assert.equal(cand?.name, 'ktuser');
      assert.deepEqual(cand?.deviceList, key(3, 90));
      assert.equal(cand?.current, undefined);

      assert.equal(await storage.ktClaimWriter('node-a', 1000, 500), true);
      assert.equal(await peer.ktClaimWriter('node-b', 1200, 500), false, 'the lease is held');
      const value = {
        name: 'ktuser',
        mapKey: key(50),
        vrfProof: key(51, 80),
        version: 1,
        accountKey: key(1),
        deviceListHash: key(52),
      };
      const commit = {
        epoch: 0,
        head: key(53, 185),
        pendingUpTo: pending.upTo,
        values: [{ ...value, valueHash: key(54) }],
        nodes: [{ label: '256/32', kind: 'leaf' as const, key: key(50), valueHash: key(54) }],
        rootLabel: '256/32',
        writer: 'node-a',
      };
      assert.equal(await peer.ktCommitEpoch({ ...commit, writer: 'node-b' }), 'conflict', 'not the lease holder');
      assert.equal(await storage.ktCommitEpoch(commit), 'committed');
      assert.equal(await storage.ktCommitEpoch(commit), 'conflict', 'an epoch commits once');
      assert.deepEqual((await peer.ktPending(100_000)).names, []);
      assert.equal(await peer.ktLastEpoch(), 0);
      assert.deepEqual(await peer.ktHeads(0, 10), [{ epoch: 0, head: key(53, 185) }]);
      assert.deepEqual(await peer.ktUpdates(0), [{ mapKey: key(50), valueHash: key(54), version: 1 }]);
      assert.deepEqual(await peer.ktValue('ktuser'), value);
      assert.equal(await peer.ktValue('nosuchaccount'), undefined);
      const loaded = await peer.ktLoad();
      assert.equal(loaded.epoch, 0);
      assert.equal(loaded.rootLabel, '256/32');
      assert.deepEqual(loaded.nodes, commit.nodes);
      const [again] = await peer.ktCandidates(['ktuser']);
      assert.deepEqual(again?.current, value);

      // A node's lease lapses; another takes it; the first no longer commits.
      assert.equal(await peer.ktClaimWriter('node-b', 2000, 500), true);
      assert.equal(await storage.ktCommitEpoch({ ...commit, epoch: 1, values: [], nodes: [] }), 'conflict');
      await peer.ktAddCosignature(0, key(60), key(61, 64));
      await peer.ktAddCosignature(0, key(60), key(62, 64));
      assert.deepEqual(await storage.ktCosignatures(0), [{ key: key(60), signature: key(62, 64) }]);
      assert.deepEqual(await storage.ktCosignatures(1), []);
    });

    test('key directory: a node following another replays its epochs to the same root', async () => {
      const provider = createNodeCryptoProvider();
      const keys = {
        directorySeed: key(70),
        directoryKey: await provider.ed25519PublicKey(key(70)),
        vrfSecret: key(71),
        vrfKey: vrfKeyPair(key(71)).publicKey,
      };
      const open = (store: Storage, node: string) =>
        KeyDirectory.open({
          store,
          keys,
          provider,
          clock: () => 5000,
          node,
          epochMs: 1000,
          requireWitnesses: 0,
          witnessKeys: [],
        });
      const fresh = await backend.open();
      try {
        const other = await fresh.peer();
        const a = await open(fresh.storage, 'a');
        const b = await open(other, 'b');
        await a.publish();
        for (const n of ['kta', 'ktb', 'ktc']) assert.equal(await fresh.storage.createAccount(account(n)), 'created');
        const e = await a.publish();
        assert.equal(await b.publish(), undefined, 'b does not hold the lease');
        assert.equal(b.epoch, e);
        const fromA = await a.lookup('ktb');
        const fromB = await b.lookup('ktb');
        assert.deepEqual(fromB, fromA);
        assert.equal(fromB.value?.version, 1);
        await a.stop();
        // The writer stopped (lease handed back): the other node takes over and continues.
        assert.equal(
          (await other.updateDeviceList('kta', 1, { bytes: key(9, 80), version: 2, devices: [] })).status,
          'updated',
        );
        assert.equal(await b.publish(), (e as number) + 1);
        assert.equal((await b.lookup('kta')).value?.version, 2);
        await b.stop();
        if (other !== fresh.storage) await other.close();
      } finally {
        await fresh.storage.close();
        await fresh.cleanup();
      }
    });
  });
}
