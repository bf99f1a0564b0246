/**
 * A server killed with SIGKILL mid-upload loses nothing it acknowledged (issue 21): after two
 * acknowledged PATCHes, a third is cut off by killing the server process while its body streams;
 * the restarted server's HEAD offset is at least the last acknowledged one, the upload completes
 * from there and the blob reads back whole. On the file system and on S3 (s3rver, started here,
 * outlives the killed server; the S3 upload crosses a 5 MiB part boundary before the kill).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { BlobSlot } from '@parley/protocol';
import { exited, startChild } from '../helpers/child-server.ts';
import { registerRaw } from '../helpers/raw-device.ts';
import { startTestS3OrSkip } from '../helpers/s3-server.ts';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'parley-blob-crash-'));
const s3 = await startTestS3OrSkip('blob-crash');
after(async () => {
  if (!('skip' in s3)) await s3.stop();
  rmSync(dir, { recursive: true, force: true });
});

const patch = (url: string, slot: BlobSlot, offset: number, body: Uint8Array) =>
  fetch(`${url}/v1/blobs/${slot.id}`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${slot.token}`,
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
    },
    body: Buffer.from(body),
  });

const headOffset = async (url: string, slot: BlobSlot): Promise<number> => {
  const r = await fetch(`${url}/v1/blobs/${slot.id}`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${slot.token}` },
  });
  assert.equal(r.status, 200);
  return Number(r.headers.get('upload-offset'));
};

/** Starts a PATCH of `body` at `offset` that sends `sent` bytes of it and then stalls (never ends). */
function stalledPatch(url: string, slot: BlobSlot, offset: number, body: Uint8Array, sent: number): Promise<void> {
  const u = new URL(`${url}/v1/blobs/${slot.id}`);
  const req = request({
    host: u.hostname,
    port: u.port,
    path: u.pathname,
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${slot.token}`,
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
      'content-length': String(body.length),
    },
  });
  req.on('error', () => {
    // The server is killed under this request: that is the point.
  });
  return new Promise((resolve) => req.write(body.subarray(0, sent), () => resolve()));
}

async function crashMidUpload(name: string, env: Record<string, string>, size: number, cuts: [number, number]) {
  const data = join(dir, name);
  const body = randomBytes(size);
  let { child, url } = await startChild(0, data, [], undefined, env);
  const alice = await registerRaw(url, 'alice');
  const r = await alice.conn.request('blob-slot', { size });
  const slot = r.result as BlobSlot;
  const [a, b] = cuts;
  let res = await patch(url, slot, 0, body.subarray(0, a));
  assert.equal(res.status, 204);
  res = await patch(url, slot, a, body.subarray(a, b));
  assert.equal(res.status, 204);
  const acked = Number(res.headers.get('upload-offset'));
  assert.equal(acked, b);
  // The third PATCH is under way (its first MiB written to the socket) when the server dies.
  await stalledPatch(url, slot, b, body.subarray(b), MiB);
  alice.conn.close();
  child.kill('SIGKILL');
  await exited(child);

  ({ child, url } = await startChild(0, data, [], undefined, env));
  try {
    const offset = await headOffset(url, slot);
    assert.ok(offset >= acked, `HEAD says ${offset} after a restart; ${acked} was acknowledged`);
    res = await patch(url, slot, offset, body.subarray(offset));
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('upload-offset'), String(size));
    const got = Buffer.from(await (await fetch(`${url}/v1/blobs/${slot.id}`)).arrayBuffer());
    assert.ok(got.equals(body), 'the blob reads back whole');
  } finally {
    child.kill('SIGTERM');
    await exited(child);
  }
}

describe('a server killed mid-upload keeps what it acknowledged', () => {
  it('on the file system', async () => {
    await crashMidUpload('fs', {}, 5 * MiB + 17, [MiB + 7, 2 * MiB + 3]);
  });

  it('on S3', { skip: 'skip' in s3 ? s3.skip : false }, async () => {
    if ('skip' in s3) return;
    await crashMidUpload('s3', { PARLEY_TEST_BLOBS: s3.location('crash') }, 13 * MiB + 17, [3 * MiB + 7, 6 * MiB + 3]);
  });
});
