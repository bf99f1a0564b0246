/**
 * The browser path of attachments, on Node's own `Blob`: a Blob is read one `slice` at a time
 * (never `stream()`, never whole), the download builds a Blob chunk by chunk and yields it only
 * verified, and the image metadata (dimensions, inline thumbnail) reaches the receiver.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BLOB_SLICE_SIZE,
  blobSink,
  blobSource,
  type ClientEvent,
  isClientError,
  type ParleyClient,
  readBlobSlices,
} from '@parley/client';
import { createWorld, type TestWorld } from '../helpers/env.ts';

/** A Blob that records each slice it is asked for and refuses to be read whole. */
class CountingBlob extends Blob {
  readonly slices: number[] = [];
  override slice(start?: number, end?: number, type?: string): Blob {
    this.slices.push((end ?? this.size) - (start ?? 0));
    return super.slice(start, end, type);
  }
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    throw new Error('read whole');
  }
  override arrayBuffer(): Promise<ArrayBuffer> {
    throw new Error('read whole');
  }
}

async function nextAttachment(events: AsyncIterableIterator<ClientEvent>) {
  const timer = setTimeout(() => void events.return?.(), 15_000);
  try {
    for await (const e of events) if (e.type === 'attachment') return e;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('no attachment event');
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('attachments from and to Blobs', () => {
  it('readBlobSlices reads one slice of at most 64 KiB at a time and yields every byte in order', async () => {
    const body = randomBytes(3 * BLOB_SLICE_SIZE + 123);
    const blob = new CountingBlob([body]);
    const pieces: Buffer[] = [];
    for await (const piece of readBlobSlices(blob)) pieces.push(Buffer.from(piece));
    assert.deepEqual(blob.slices, [BLOB_SLICE_SIZE, BLOB_SLICE_SIZE, BLOB_SLICE_SIZE, 123]);
    assert.deepEqual(Buffer.concat(pieces), body);
    for await (const _ of readBlobSlices(new Blob([]))) assert.fail('an empty blob has no slices');
  });

  it('blobSource takes the type the app sniffed over the blob’s declared one', () => {
    const file = new File([new Uint8Array(3)], 'x.png', { type: 'image/svg+xml' });
    assert.equal(blobSource(file).contentType, 'image/svg+xml');
    assert.equal(blobSource(file, undefined, 'image/png').contentType, 'image/png');
    assert.equal(blobSource(file, 'y.png').name, 'y.png');
  });

  it('blobSink yields a Blob only once committed, and nothing after an abort', async () => {
    const sink = blobSink('image/png');
    await sink.write(new Uint8Array([1, 2]));
    await sink.write(new Uint8Array([3]));
    assert.equal(sink.blob(), undefined);
    await sink.commit();
    const blob = sink.blob() as Blob;
    assert.equal(blob.type, 'image/png');
    assert.deepEqual(new Uint8Array(await blob.arrayBuffer()), new Uint8Array([1, 2, 3]));
    const aborted = blobSink();
    await aborted.write(new Uint8Array([1]));
    await aborted.abort();
    assert.equal(aborted.blob(), undefined);
  });

  describe('through a server', () => {
    let world: TestWorld;
    let alice: ParleyClient;
    let bob: ParleyClient;
    before(async () => {
      world = await createWorld();
      alice = await world.register('alice');
      bob = await world.register('bob');
    });
    after(async () => {
      await world.close();
    });

    it('a Blob sent with dimensions and a thumbnail arrives with them, and downloads into a Blob that matches', async () => {
      const body = randomBytes(5 * BLOB_SLICE_SIZE + 7);
      const source = new CountingBlob([body]);
      const thumb = randomBytes(20_000);
      const events = bob.events();
      const progress: number[] = [];
      await alice.sendFile('bob', blobSource(source, 'pic.png', 'image/png'), {
        width: 640,
        height: 480,
        thumbnail: { contentType: 'image/jpeg', data: thumb },
        onProgress: (done, total) => {
          assert.ok(done <= total);
          progress.push(done);
        },
      });
      assert.ok(source.slices.every((n) => n <= BLOB_SLICE_SIZE));
      assert.ok(progress.length > 0);
      const { attachment } = await nextAttachment(events);
      assert.equal(attachment.contentType, 'image/png');
      assert.equal(attachment.width, 640);
      assert.equal(attachment.height, 480);
      assert.equal(attachment.thumbnail?.contentType, 'image/jpeg');
      assert.deepEqual(Buffer.from(attachment.thumbnail?.data ?? []), thumb);
      const sink = blobSink(attachment.contentType);
      const seen: number[] = [];
      await attachment.download(sink, { onProgress: (done) => seen.push(done) });
      assert.equal(seen.at(-1), body.length);
      const got = new Uint8Array(await (sink.blob() as Blob).arrayBuffer());
      assert.equal(sha(got), sha(body));
    });

    it('a thumbnail over 64 KiB is INVALID_ARGUMENT before anything is uploaded', async () => {
      const blobsBefore = readdirSync(world.dataDir, { recursive: true }).length;
      await assert.rejects(
        alice.sendFile('bob', new Blob([new Uint8Array(10)]), {
          thumbnail: { contentType: 'image/jpeg', data: new Uint8Array(64 * 1024 + 1) },
        }),
        (err) => isClientError(err, 'INVALID_ARGUMENT'),
      );
      assert.equal(readdirSync(world.dataDir, { recursive: true }).length, blobsBefore);
    });

    it('a tampered blob downloads into a Blob sink as ATTACHMENT_CORRUPT and leaves no Blob', async () => {
      const events = bob.events();
      await alice.sendFile('bob', new File([randomBytes(100_000)], 'doc.pdf'));
      const { attachment } = await nextAttachment(events);
      const files = readdirSync(world.dataDir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile() && e.name.endsWith('.blob'))
        .map((e) => join(e.parentPath, e.name));
      const newest = files.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0] as string;
      const bytes = readFileSync(newest);
      bytes[100] = (bytes[100] as number) ^ 1;
      writeFileSync(newest, bytes);
      const sink = blobSink();
      await assert.rejects(attachment.download(sink), (err) => isClientError(err, 'ATTACHMENT_CORRUPT'));
      assert.equal(sink.blob(), undefined);
    });
  });
});
