import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodePreKeyBundle, fromBase64Url } from '@parley/protocol';
import { type RunningServer, startServer } from '@parley/server';
import { type RawDevice, registerRaw, uploadKeys } from './helpers/raw-device.ts';

describe('prekey directory', () => {
  let dir: string;
  let server: RunningServer;
  let bob: RawDevice;
  const fetchers: RawDevice[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-prekeys-'));
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      // The per-target limits (key-drain.test.ts) are out of the way: this checks atomicity.
      limits: {
        lowPreKeyThreshold: 5,
        fetchRate: 1000,
        fetchBurst: 1000,
        targetFetchRatePerRequester: 1000,
        targetFetchBurstPerRequester: 1000,
        targetFetchBurst: 1000,
      },
    });
    bob = await registerRaw(server.url, 'bob');
    for (let i = 0; i < 4; i++) fetchers.push(await registerRaw(server.url, `fetcher${i}`));
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('concurrent fetches never share a one-time prekey; exhausted stock falls back to the last-resort key', async () => {
    const counts = await uploadKeys(bob, 30, 12);
    assert.deepEqual(counts.result, { oneTime: 30, kem: 12 });
    // 40 fetches in flight at once over 4 connections: more than the stock of either kind.
    const fetches = Array.from({ length: 40 }, (_, i) =>
      (fetchers[i % 4] as RawDevice).conn.request('fetch-bundles', { name: 'bob' }),
    );
    const bundles = (await Promise.all(fetches)).map((r) => {
      assert.equal(r.type, 'response', JSON.stringify(r));
      const b = (r.result as { bundles: { bundle: string }[] }).bundles[0];
      return decodePreKeyBundle(fromBase64Url('bundle', b?.bundle));
    });
    const otpIds = bundles.flatMap((b) => (b.oneTimePreKey ? [b.oneTimePreKey.id] : []));
    assert.equal(otpIds.length, 30, 'every one-time X25519 key handed out once');
    assert.equal(new Set(otpIds).size, 30, 'no one-time X25519 key handed out twice');
    const kemOneTime = bundles.filter((b) => b.kemPreKey?.lastResort === false).map((b) => b.kemPreKey?.id);
    assert.equal(kemOneTime.length, 12);
    assert.equal(new Set(kemOneTime).size, 12, 'no one-time ML-KEM key handed out twice');
    const lastResort = bundles.filter((b) => b.kemPreKey?.lastResort === true);
    assert.equal(lastResort.length, 28, 'the rest got the last-resort ML-KEM key');
    assert.ok(lastResort.every((b) => b.kemPreKey?.id === 99));
    assert.ok(
      bundles.every((b) => b.kemPreKey !== undefined),
      'never a bundle without a PQ prekey',
    );
    assert.deepEqual(await server.storage.countPreKeys('bob', 1), { oneTime: 0, kem: 0 });
  });

  it('tells a connected device when its stock runs low', async () => {
    // The first fetch that leaves fewer than 5 ML-KEM keys (the 8th: 4 left, 22 X25519 left) says so.
    const low = await bob.conn.next((f) => f.type === 'keys-low');
    assert.deepEqual({ oneTime: low.oneTime, kem: low.kem }, { oneTime: 22, kem: 4 });
  });

  it('a device with no prekeys at all yields NO_PREKEYS', async () => {
    const empty = await registerRaw(server.url, 'empty');
    const r = await (fetchers[0] as RawDevice).conn.request('fetch-bundles', { name: 'empty' });
    assert.equal(r.code, 'NO_PREKEYS');
    empty.conn.close();
  });
});
