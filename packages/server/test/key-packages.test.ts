import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toBase64Url } from '@parley/protocol';
import { createKeyPackage } from '@parley/protocol/groups';
import { type RunningServer, startServer } from '@parley/server';
import { type RawDevice, random, registerRaw } from './helpers/raw-device.ts';

/** A fresh KeyPackage of `d`'s device (or, with `as`, naming another account/device). */
async function keyPackage(d: RawDevice, as: { name: string; device: number } = { name: d.name, device: d.device }) {
  return toBase64Url((await createKeyPackage(d.identity, as.name, as.device)).keyPackage);
}

describe('KeyPackage directory', () => {
  let dir: string;
  let server: RunningServer;
  let alice: RawDevice;
  let bob: RawDevice;
  let carol: RawDevice;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-key-packages-'));
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      limits: { fetchRate: 1000, fetchBurst: 1000, maxStoredKeyPackages: 5, lowKeyPackageThreshold: 2 },
    });
    alice = await registerRaw(server.url, 'alice');
    bob = await registerRaw(server.url, 'bob');
    carol = await registerRaw(server.url, 'carol');
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stillWorks = async (d: RawDevice) => assert.equal((await d.conn.request('key-count', {})).type, 'response');
  const stored = () => server.storage.countKeyPackages('alice', 1);

  it('upload refuses a KeyPackage signed by another key or naming another device, storing none of the batch', async () => {
    const good = await keyPackage(alice);
    // bob's device key signs a package whose credential says alice/1.
    const otherKey = await keyPackage(bob, { name: 'alice', device: 1 });
    const r1 = await alice.conn.request('upload-key-packages', { keyPackages: [good, otherKey] });
    assert.equal(r1.code, 'INVALID_KEY_PACKAGE');
    // alice's own key, but the credential names device 2.
    const otherDevice = await keyPackage(alice, { name: 'alice', device: 2 });
    const r2 = await alice.conn.request('upload-key-packages', { keyPackages: [good], lastResort: otherDevice });
    assert.equal(r2.code, 'INVALID_KEY_PACKAGE');
    const otherAccount = await keyPackage(alice, { name: 'bob', device: 1 });
    assert.equal(
      (await alice.conn.request('upload-key-packages', { keyPackages: [otherAccount] })).code,
      'INVALID_KEY_PACKAGE',
    );
    const garbage = toBase64Url(random(300));
    assert.equal(
      (await alice.conn.request('upload-key-packages', { keyPackages: [garbage] })).code,
      'INVALID_KEY_PACKAGE',
    );
    assert.deepEqual(await stored(), { oneTime: 0, lastResort: false });
    await stillWorks(alice);
    const ok = await alice.conn.request('upload-key-packages', { keyPackages: [good] });
    assert.deepEqual(ok.result, { keyPackages: 1 });
  });

  it('bounds uploads: count per upload, bytes per package, packages stored per device', async () => {
    const many = await alice.conn.request('upload-key-packages', { keyPackages: Array(101).fill('AAAA') });
    assert.equal(many.code, 'BAD_FRAME');
    const big = await alice.conn.request('upload-key-packages', { keyPackages: [toBase64Url(random(8 * 1024 + 1))] });
    assert.equal(big.code, 'MESSAGE_TOO_LARGE');
    const five = await Promise.all(Array.from({ length: 5 }, () => keyPackage(alice)));
    const over = await alice.conn.request('upload-key-packages', { keyPackages: five });
    assert.equal(over.code, 'BAD_FRAME', 'one stored + five is over the cap of five');
    assert.deepEqual(await stored(), { oneTime: 1, lastResort: false });
    await stillWorks(alice);
  });

  it('fetch consumes each one-time KeyPackage once, then serves the last-resort one; the owner hears its stock is low', async () => {
    const oneTime = [await keyPackage(bob), await keyPackage(bob)];
    const lastResort = await keyPackage(bob);
    const up = await bob.conn.request('upload-key-packages', { keyPackages: oneTime, lastResort });
    assert.deepEqual(up.result, { keyPackages: 2 });
    const fetched: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await carol.conn.request('fetch-key-packages', { name: 'bob' });
      assert.equal(r.type, 'response', JSON.stringify(r));
      const result = r.result as {
        accountKey: string;
        deviceList: string;
        keyPackages: { device: number; keyPackage: string }[];
      };
      assert.equal(result.accountKey, toBase64Url(bob.account.publicKey));
      assert.ok(result.deviceList.length > 0);
      assert.deepEqual(
        result.keyPackages.map((k) => k.device),
        [1],
      );
      fetched.push(result.keyPackages[0]?.keyPackage ?? '');
    }
    assert.deepEqual(fetched, [...oneTime, lastResort]);
    assert.deepEqual(await server.storage.countKeyPackages('bob', 1), { oneTime: 0, lastResort: true });
    // Below the threshold of 2 after the first take (1 left), then 0 left.
    assert.equal((await bob.conn.next((f) => f.type === 'key-packages-low')).count, 1);
    assert.equal((await bob.conn.next((f) => f.type === 'key-packages-low')).count, 0);
  });

  it('fetch: no packages is NO_KEY_PACKAGES, an unknown account UNKNOWN_ACCOUNT, one’s own only device nothing', async () => {
    assert.equal((await bob.conn.request('fetch-key-packages', { name: 'carol' })).code, 'NO_KEY_PACKAGES');
    assert.equal((await bob.conn.request('fetch-key-packages', { name: 'nobody' })).code, 'UNKNOWN_ACCOUNT');
    const own = await alice.conn.request('fetch-key-packages', { name: 'alice' });
    assert.deepEqual((own.result as { keyPackages: unknown[] }).keyPackages, []);
    assert.deepEqual(await stored(), { oneTime: 1, lastResort: false }, 'the caller’s own package is not taken');
  });
});
