import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openPostgresStorage, openSqliteStorage, type Storage } from '@parley/server';
import { dropSchema, POSTGRES_URL, postgresSkipReason } from '../helpers/services.ts';

interface Backend {
  readonly name: string;
  skip(): Promise<string | undefined>;
  open(): Promise<{ storage: Storage; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'SQLite',
    skip: async () => undefined,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'parley-contract-'));
      const storage = openSqliteStorage(dir, 'full');
      return { storage, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    skip: postgresSkipReason,
    async open() {
      const schema = `parley_test_${randomBytes(6).toString('hex')}`;
      const storage = await openPostgresStorage(POSTGRES_URL, { schema });
      return { storage, cleanup: () => dropSchema(schema) };
    },
  },
];

const key = (n: number, len = 32) => new Uint8Array(len).fill(n);
const identity = (n: number) => key(n, 128);

function account(name: string, devices = [1]) {
  return {
    name,
    accountKey: key(1),
    deviceList: key(2, 100),
    listVersion: 1,
    createdAt: 1000,
    devices: devices.map((id) => ({ account: name, id, identity: identity(id) })),
  };
}

for (const backend of backends) {
  describe(`storage contract: ${backend.name}`, async () => {
    const reason = await backend.skip();
    let storage: Storage;
    let cleanup: () => Promise<void>;
    before(async () => {
      if (reason !== undefined) return;
      ({ storage, cleanup } = await backend.open());
    });
    after(async () => {
      if (reason !== undefined) return;
      await storage.close();
      await cleanup();
    });
    const test = (name: string, fn: () => Promise<void>) => it(name, { skip: reason }, fn);

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
      const signed = { id: 1, publicKey: key(3), signature: key(4, 64) };
      const oneTimePreKeys = Array.from({ length: 10 }, (_, i) => ({ id: i + 1, publicKey: key(10 + i) }));
      const kemPreKeys = Array.from({ length: 5 }, (_, i) => ({
        id: 100 + i,
        publicKey: key(50 + i, 1568),
        signature: key(5, 64),
      }));
      const lastResortKemPreKey = { id: 99, publicKey: key(7, 1568), signature: key(8, 64) };
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

    test('queues: order, duplicates, caps, pending after a seq, acknowledgement of own rows only', async () => {
      const item = (id: string, body: number) => ({
        sender: 'bob',
        senderDevice: 1,
        messageId: id,
        recipient: 'alice',
        messages: [{ device: 1, kind: 2, body: key(body, 20) }],
      });
      const out = await storage.enqueue([item('m-00001', 1), item('m-00002', 2), item('m-00001', 3)], 5000, 9000, 3);
      assert.deepEqual(
        out.map((o) => o.status),
        ['queued', 'queued', 'duplicate'],
      );
      const full = await storage.enqueue([item('m-00003', 4), item('m-00004', 5)], 5000, 9000, 3);
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
      const next = await storage.enqueue([item('m-00005', 6)], 5000, 9000, 10, [
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
            recipient: 'dave',
            messages: [{ device: 2, kind: 2, body: key(1) }],
          },
        ],
        1,
        10_000_000,
        100,
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
  });
}
