import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachmentBlobSize, type BlobSlot } from '@parley/protocol';
import { exportAccount, type RunningServer, startServer } from '@parley/server';
import { type RawDevice, registerRaw } from '../helpers/raw-device.ts';

const patch = (url: string, slot: BlobSlot, offset: number, body: Uint8Array, token = slot.token) =>
  fetch(`${url}/v1/blobs/${slot.id}`, {
    method: 'PATCH',
    headers: {
      authorization: `Bearer ${token}`,
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
    },
    body: Buffer.from(body),
  });

const head = (url: string, slot: BlobSlot, token = slot.token) =>
  fetch(`${url}/v1/blobs/${slot.id}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });

async function slotOf(d: RawDevice, size: number): Promise<BlobSlot> {
  const r = await d.conn.request('blob-slot', { size });
  assert.equal(r.type, 'response', JSON.stringify(r));
  return r.result as BlobSlot;
}

describe('blob HTTP API', () => {
  let dir: string;
  let server: RunningServer;
  let alice: RawDevice;
  let bob: RawDevice;
  const QUOTA = 3000;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-blob-api-'));
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      limits: {
        blobQuotaBytes: QUOTA,
        maxAttachmentBytes: 1000,
        blobDownloadRatePerSource: 0.001,
        blobDownloadBurstPerSource: 8,
      },
    });
    alice = await registerRaw(server.url, 'alice');
    bob = await registerRaw(server.url, 'bob');
  });
  after(async () => {
    alice.conn.close();
    bob.conn.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uploads in two PATCHes (HEAD gives the offset to resume from), then anyone with the id downloads', async () => {
    const body = new Uint8Array(600).map((_, i) => i % 256);
    const slot = await slotOf(alice, body.length);
    assert.match(slot.id, /^[A-Za-z0-9_-]{22}$/);
    let r = await patch(server.url, slot, 0, body.subarray(0, 250));
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('upload-offset'), '250');
    r = await head(server.url, slot);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('upload-offset'), '250');
    assert.equal(r.headers.get('upload-length'), '600');
    assert.equal((await fetch(`${server.url}/v1/blobs/${slot.id}`)).status, 404, 'not readable before complete');
    r = await patch(server.url, slot, 250, body.subarray(250));
    assert.equal(r.headers.get('upload-offset'), '600');
    const got = await fetch(`${server.url}/v1/blobs/${slot.id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(new Uint8Array(await got.arrayBuffer()), body);
  });

  it('refuses an upload past the declared size with BEYOND_DECLARED_SIZE and stores nothing of it', async () => {
    const slot = await slotOf(alice, 100);
    const r = await patch(server.url, slot, 0, new Uint8Array(101));
    assert.equal(r.status, 413);
    assert.equal(((await r.json()) as { code: string }).code, 'BEYOND_DECLARED_SIZE');
    assert.equal((await head(server.url, slot)).headers.get('upload-offset'), '0');
  });

  it('refuses another device’s slot with NOT_YOUR_SLOT (its own valid token, or none) and stores nothing', async () => {
    const mine = await slotOf(alice, 10);
    const theirs = await slotOf(bob, 10);
    let r = await patch(server.url, mine, 0, new Uint8Array(10), theirs.token);
    assert.equal(r.status, 403);
    assert.equal(((await r.json()) as { code: string }).code, 'NOT_YOUR_SLOT');
    r = await fetch(`${server.url}/v1/blobs/${mine.id}`, { method: 'HEAD' });
    assert.equal(r.status, 403);
    assert.equal((await head(server.url, mine)).headers.get('upload-offset'), '0');
  });

  it('answers a wrong Upload-Offset with OFFSET_MISMATCH and the stored offset', async () => {
    const slot = await slotOf(alice, 10);
    await patch(server.url, slot, 0, new Uint8Array(4));
    const r = await patch(server.url, slot, 2, new Uint8Array(2));
    assert.equal(r.status, 409);
    assert.deepEqual(await r.json(), {
      code: 'OFFSET_MISMATCH',
      message: 'Upload-Offset is not the stored offset',
      offset: 4,
    });
  });

  it('refuses a slot above the largest attachment (ATTACHMENT_TOO_LARGE) and over the quota (QUOTA_EXCEEDED)', async () => {
    let r = await alice.conn.request('blob-slot', { size: attachmentBlobSize(1000) + 1 });
    assert.equal(r.code, 'ATTACHMENT_TOO_LARGE');
    assert.deepEqual(r.details, { maxBlobBytes: attachmentBlobSize(1000) });
    const size = attachmentBlobSize(1000);
    for (;;) {
      const used = (await server.blobs.list('alice')).reduce((n, b) => n + b.size, 0);
      r = await alice.conn.request('blob-slot', { size });
      if (used + size <= QUOTA) {
        assert.equal(r.type, 'response');
        continue;
      }
      assert.equal(r.code, 'QUOTA_EXCEEDED');
      assert.deepEqual(r.details, { usedBytes: used, quotaBytes: QUOTA });
      break;
    }
  });

  it('needs an authenticated device for a slot', async () => {
    const { openRaw } = await import('../helpers/raw-device.ts');
    const conn = await openRaw(server.url);
    const r = await conn.request('blob-slot', { size: 10 });
    assert.equal(r.code, 'NOT_AUTHENTICATED');
    conn.close();
  });

  it('answers ids that are not blobs, or not blob ids, with BLOB_NOT_FOUND, and rate-limits downloads per address', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const r = await fetch(`${server.url}/v1/blobs/${i % 2 === 0 ? 'AAAAAAAAAAAAAAAAAAAAAA' : '..%2F..%2Fetc'}`);
      statuses.push(r.status);
      await r.arrayBuffer();
    }
    assert.ok(statuses.includes(404));
    assert.equal(statuses.at(-1), 429);
  });

  it('admin export lists the account’s blob ids, padded sizes and times, and nothing of other accounts', async () => {
    const doc = await exportAccount(server.storage, 'bob', server.blobs.store);
    const mine = await server.blobs.list('bob');
    assert.deepEqual(
      doc?.blobs?.map((b) => [b.id, b.paddedBytes, b.complete]),
      mine.map((b) => [b.id, b.size, b.complete]),
    );
    assert.ok(doc?.blobs?.every((b) => Object.keys(b).join() === 'id,paddedBytes,createdAt,expiresAt,complete'));
  });

  it('keeps blobs under the data dir in files named by the hex id only', async () => {
    const names = readdirSync(join(dir, 'data', 'blobs'));
    assert.ok(
      // `.probe` is the health probe's file, there for a moment every blobProbeMs.
      names.every((n) => /^[0-9a-f]{32}\.(meta|part|blob)$/.test(n) || n === '.probe'),
      names.join(','),
    );
  });
});
