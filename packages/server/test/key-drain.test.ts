/**
 * Issue 19, item 8: three accounts took every one-time prekey, ML-KEM prekey and KeyPackage of a
 * device in under a second, after which everyone got its last-resort keys. Fetches of one
 * account's keys are now limited per requester and in total; past the total the one-time stock is
 * spared and the device is told (`stock-drained`).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toBase64Url } from '@parley/protocol';
import { createKeyPackage } from '@parley/protocol/groups';
import { DEFAULT_LIMITS, type RunningServer, startServer } from '@parley/server';
import { type RawDevice, registerRaw, uploadKeys } from './helpers/raw-device.ts';

describe('key stock drain (issue 19 item 8)', () => {
  let dir: string;
  let server: RunningServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-drain-'));
    // Default per-target limits; the per-account fetch limit is out of the way, so what holds is
    // the per-target limit alone.
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      limits: { fetchRate: 1000, fetchBurst: 1000 },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ten accounts fetching one device’s keys as fast as they can leave most of its stock, and the device is told', async () => {
    const victim = await registerRaw(server.url, 'victim');
    assert.equal((await uploadKeys(victim, 100, 40)).type, 'response');
    const kps = await Promise.all(
      Array.from({ length: 20 }, async () =>
        toBase64Url((await createKeyPackage(victim.identity, 'victim', 1)).keyPackage),
      ),
    );
    const last = toBase64Url((await createKeyPackage(victim.identity, 'victim', 1)).keyPackage);
    assert.equal(
      (await victim.conn.request('upload-key-packages', { keyPackages: kps, lastResort: last })).type,
      'response',
    );

    const attackers: RawDevice[] = [];
    for (let i = 0; i < 10; i++) attackers.push(await registerRaw(server.url, `drainer${i}`));
    const answers = await Promise.all(
      attackers.flatMap((a) =>
        Array.from({ length: 20 }, (_, i) =>
          a.conn.request(i % 2 === 0 ? 'fetch-bundles' : 'fetch-key-packages', { name: 'victim' }),
        ),
      ),
    );
    const stock = await server.storage.countPreKeys('victim', 1);
    const packages = await server.storage.countKeyPackages('victim', 1);
    // The total burst, plus what refills while the test runs.
    const allowed = DEFAULT_LIMITS.targetFetchBurst + 2;
    assert.ok(stock.oneTime >= 100 - allowed, `one-time prekeys left: ${stock.oneTime}`);
    assert.ok(stock.kem >= 40 - allowed, `one-time ML-KEM prekeys left: ${stock.kem}`);
    assert.ok(packages.oneTime >= 20 - allowed, `one-time KeyPackages left: ${packages.oneTime}`);

    const refused = answers.filter((r) => r.type === 'error');
    assert.ok(
      refused.every((r) => r.code === 'RATE_LIMITED'),
      JSON.stringify(refused.find((r) => r.code !== 'RATE_LIMITED')),
    );
    assert.ok(refused.length > 0, 'a requester past its share is refused');

    // Nobody is denied a session: past the limit, bundles carry the last-resort ML-KEM key.
    const served = answers.filter((r) => r.type === 'response');
    assert.ok(served.length >= 20);
    const notices = new Set<string>();
    for (;;) {
      const f = await victim.conn.next((x) => x.type === 'stock-drained', 2000).catch(() => undefined);
      if (f === undefined) break;
      notices.add(String(f.stock));
    }
    assert.deepEqual([...notices].sort(), ['key-packages', 'prekeys'], 'the device is told both stocks are drained');
  });
});
