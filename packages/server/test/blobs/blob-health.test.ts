/**
 * A failing blob directory makes `/healthz` degraded with a reason, like the database
 * (blob-health.ts): its probe file pointed at /dev/full (every write: ENOSPC) gives
 * `blobs-full`; a directory where the probe file goes (EISDIR) gives `blobs-unwritable`; either
 * ends once a probe succeeds again. (Tests run as root here, so a read-only mode would not stop
 * a write: these are the failures a test can cause.)
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '@parley/server';
import { blobFailureReason } from '../../src/blobs/blob-health.ts';

describe('blob storage in /healthz', () => {
  let dir: string;
  let server: RunningServer;
  const probe = () => join(dir, 'data', 'blobs', '.probe');
  const health = async () => {
    const r = await fetch(`${server.url}/healthz`);
    return { status: r.status, body: (await r.json()) as { status: string; reasons?: string[] } };
  };
  /** Waits (at most 400 probe periods) until /healthz answers `status`. */
  const until = async (status: string) => {
    for (let i = 0; i < 400; i++) {
      const h = await health();
      if (h.body.status === status) return h;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`/healthz never said ${status}`);
  };

  /** Runs `make` once the probe file is not there (the probe writes and removes it every 50 ms). */
  const place = async (make: () => void) => {
    for (let i = 0; ; i++) {
      try {
        return make();
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST' || i > 200) throw err;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-blob-health-'));
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      limits: { blobProbeMs: 50 },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names full and unwritable conditions by their system codes', () => {
    assert.equal(blobFailureReason(Object.assign(new Error('x'), { code: 'ENOSPC' })), 'full');
    assert.equal(blobFailureReason(Object.assign(new Error('x'), { code: 'EDQUOT' })), 'full');
    assert.equal(blobFailureReason(Object.assign(new Error('x'), { code: 'EACCES' })), 'unwritable');
    assert.equal(blobFailureReason(Object.assign(new Error('x'), { code: 'EROFS' })), 'unwritable');
    assert.equal(blobFailureReason(new Error('a bug')), undefined);
  });

  it('a full blob directory: degraded with blobs-full (503), ok again once it takes writes', async () => {
    assert.deepEqual((await until('ok')).body, { status: 'ok' });
    await place(() => symlinkSync('/dev/full', probe()));
    const h = await until('degraded');
    assert.equal(h.status, 503);
    assert.deepEqual(h.body, { status: 'degraded', reasons: ['blobs-full'] });
    rmSync(probe());
    assert.equal((await until('ok')).status, 200);
  });

  it('an unwritable blob directory: degraded with blobs-unwritable, ok again after', async () => {
    await place(() => mkdirSync(probe()));
    const h = await until('degraded');
    assert.deepEqual(h.body, { status: 'degraded', reasons: ['blobs-unwritable'] });
    rmSync(probe(), { recursive: true });
    await until('ok');
  });
});
