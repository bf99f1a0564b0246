/**
 * Ranged downloads (docs/protocol.md §16.5): `Range: bytes=a-b` answers 206 with Content-Range
 * and exactly those bytes, so a client resumes an interrupted download; a malformed, multiple or
 * unsatisfiable range answers 416 `RANGE_NOT_SATISFIABLE` with `Content-Range: bytes *\/size`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BlobSlot } from '@parley/protocol';
import { type RunningServer, startServer } from '@parley/server';
import { requestedRange } from '../../src/blobs/blob-routes.ts';
import { type RawDevice, registerRaw } from '../helpers/raw-device.ts';

describe('requestedRange', () => {
  it('reads a-b, a- and -n as [start, end) within the blob', () => {
    assert.equal(requestedRange(undefined, 10), undefined);
    assert.deepEqual(requestedRange('bytes=0-0', 10), { start: 0, end: 1 });
    assert.deepEqual(requestedRange('bytes=2-5', 10), { start: 2, end: 6 });
    assert.deepEqual(requestedRange('bytes=2-', 10), { start: 2, end: 10 });
    assert.deepEqual(requestedRange('bytes=8-100', 10), { start: 8, end: 10 }, 'an end past the blob is clamped');
    assert.deepEqual(requestedRange('bytes=-3', 10), { start: 7, end: 10 });
    assert.deepEqual(requestedRange('bytes=-30', 10), { start: 0, end: 10 });
  });

  it('calls malformed, multiple, reversed and unsatisfiable ranges invalid', () => {
    for (const h of ['bytes=10-', 'bytes=5-2', 'bytes=-0', 'bytes=-', 'bytes=1-2,4-5', 'items=1-2', 'bytes=a-b', '']) {
      assert.equal(requestedRange(h, 10), 'invalid', h);
    }
    assert.equal(requestedRange('bytes=0-', 0), 'invalid', 'an empty blob has no byte to send');
  });
});

describe('ranged blob downloads over HTTP', () => {
  let dir: string;
  let server: RunningServer;
  let alice: RawDevice;
  const body = new Uint8Array(1000).map((_, i) => (i * 7) % 256);
  let url: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-blob-range-'));
    server = await startServer({ port: 0, dataDir: join(dir, 'data'), logLevel: 'silent' });
    alice = await registerRaw(server.url, 'alice');
    const r = await alice.conn.request('blob-slot', { size: body.length });
    const slot = r.result as BlobSlot;
    const put = await fetch(`${server.url}/v1/blobs/${slot.id}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${slot.token}`,
        'upload-offset': '0',
        'content-type': 'application/offset+octet-stream',
      },
      body: Buffer.from(body),
    });
    assert.equal(put.status, 204);
    url = `${server.url}/v1/blobs/${slot.id}`;
  });
  after(async () => {
    alice.conn.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a whole download 200 with Accept-Ranges: bytes', async () => {
    const r = await fetch(url);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('accept-ranges'), 'bytes');
    assert.deepEqual(new Uint8Array(await r.arrayBuffer()), body);
  });

  it('answers a range 206 with Content-Range and exactly its bytes', async () => {
    for (const [range, start, end] of [
      ['bytes=0-99', 0, 100],
      ['bytes=500-', 500, 1000],
      ['bytes=-10', 990, 1000],
      ['bytes=999-999', 999, 1000],
    ] as const) {
      const r = await fetch(url, { headers: { range } });
      assert.equal(r.status, 206, range);
      assert.equal(r.headers.get('content-range'), `bytes ${start}-${end - 1}/1000`);
      assert.equal(r.headers.get('content-length'), String(end - start));
      assert.deepEqual(new Uint8Array(await r.arrayBuffer()), body.subarray(start, end), range);
    }
  });

  it('answers a range past the end, several ranges or a malformed one 416 RANGE_NOT_SATISFIABLE', async () => {
    for (const range of ['bytes=1000-', 'bytes=0-1,5-6', 'bytes=x-y']) {
      const r = await fetch(url, { headers: { range } });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers.get('content-range'), 'bytes */1000');
      assert.equal(((await r.json()) as { code: string }).code, 'RANGE_NOT_SATISFIABLE');
    }
  });

  it('answers a range of a blob that does not exist 404 BLOB_NOT_FOUND', async () => {
    const r = await fetch(`${server.url}/v1/blobs/AAAAAAAAAAAAAAAAAAAAAA`, { headers: { range: 'bytes=0-1' } });
    assert.equal(r.status, 404);
    assert.equal(((await r.json()) as { code: string }).code, 'BLOB_NOT_FOUND');
  });
});
