/**
 * The blob store contract: every `BlobStore` adapter runs these (fs-blob-store.test.ts,
 * s3-blob-store.test.ts). Behaviour, not implementation: create, resumable append, durable
 * offsets, refusals that keep nothing, whole and ranged reads, listing by owner, expiry and
 * collection. The large-blob cases cross S3's 5 MiB part boundary.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type BlobMeta, type BlobStore, isBlobStoreError } from '../../src/blobs/blob-store.ts';

async function* of(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p;
}

async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of body) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

const NOW = 1_800_000_000_000;
const newId = () => randomBytes(16).toString('base64url');
const meta = (over: Partial<BlobMeta> = {}): BlobMeta => ({
  id: newId(),
  owner: 'alice',
  writer: 'w',
  size: 10,
  createdAt: NOW,
  expiresAt: NOW + 1000,
  ...over,
});

/** Runs the contract against stores made by `open` (each test gets a fresh store). */
export function blobStoreContract(
  label: string,
  open: () => Promise<{ store: BlobStore; reopen(): Promise<BlobStore>; cleanup(): Promise<void> }>,
  skip?: string,
): void {
  describe(`blob store contract (${label})`, skip === undefined ? {} : { skip }, () => {
    let store: BlobStore;
    let reopen: () => Promise<BlobStore>;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, reopen, cleanup } = await open());
    });
    after(async () => {
      await store.close();
      await cleanup();
    });

    it('creates an empty blob, appends in pieces, completes at the declared size, reads it back', async () => {
      const m = meta({ size: 10 });
      await store.create(m);
      assert.deepEqual(await store.status(m.id, NOW), { ...m, offset: 0, complete: false });
      assert.equal(await store.read(m.id, NOW), undefined, 'an incomplete blob is not readable');
      assert.equal(await store.append(m.id, 0, of(Buffer.from('hel'), Buffer.from('lo')), NOW), 5);
      assert.equal((await store.status(m.id, NOW))?.offset, 5);
      assert.equal(await store.append(m.id, 5, of(Buffer.from('world')), NOW), 10);
      assert.equal((await store.status(m.id, NOW))?.complete, true);
      const blob = await store.read(m.id, NOW);
      assert.equal(blob?.size, 10);
      assert.equal((await readAll(blob?.body ?? of())).toString(), 'helloworld');
    });

    it('a zero-byte blob is complete after an empty append', async () => {
      const m = meta({ size: 0 });
      await store.create(m);
      assert.equal(await store.append(m.id, 0, of(), NOW), 0);
      assert.equal((await store.read(m.id, NOW))?.size, 0);
    });

    it('refuses a taken id', async () => {
      const m = meta();
      await store.create(m);
      await assert.rejects(store.create(m), (e) => isBlobStoreError(e, 'EXISTS'));
    });

    it('refuses an append at the wrong offset and names the stored one', async () => {
      const m = meta();
      await store.create(m);
      await store.append(m.id, 0, of(Buffer.from('abc')), NOW);
      await assert.rejects(
        store.append(m.id, 1, of(Buffer.from('x')), NOW),
        (e) => isBlobStoreError(e, 'OFFSET_MISMATCH') && e.offset === 3,
      );
    });

    it('refuses an append past the declared size and keeps nothing of it', async () => {
      const m = meta({ size: 4 });
      await store.create(m);
      await store.append(m.id, 0, of(Buffer.from('ab')), NOW);
      await assert.rejects(store.append(m.id, 2, of(Buffer.from('c'), Buffer.from('def')), NOW), (e) =>
        isBlobStoreError(e, 'BEYOND_DECLARED_SIZE'),
      );
      assert.equal((await store.status(m.id, NOW))?.offset, 2);
    });

    it('a source that fails midway leaves the offset where the append began', async () => {
      const m = meta({ size: 10 });
      await store.create(m);
      async function* broken() {
        yield Buffer.from('abc');
        throw new Error('connection reset');
      }
      await assert.rejects(store.append(m.id, 0, broken(), NOW), /connection reset/);
      assert.equal((await store.status(m.id, NOW))?.offset, 0);
    });

    it('refuses a second append while one runs, and an append to a complete blob', async () => {
      const m = meta({ size: 2 });
      await store.create(m);
      let release: () => void = () => {};
      const gate = new Promise<void>((r) => {
        release = r;
      });
      async function* slow() {
        yield Buffer.from('a');
        await gate;
      }
      const first = store.append(m.id, 0, slow(), NOW);
      await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(store.append(m.id, 0, of(Buffer.from('a')), NOW), (e) => isBlobStoreError(e, 'BUSY'));
      release();
      assert.equal(await first, 1);
      await store.append(m.id, 1, of(Buffer.from('b')), NOW);
      await assert.rejects(store.append(m.id, 2, of(), NOW), (e) => isBlobStoreError(e, 'COMPLETE'));
    });

    it('keeps acknowledged offsets across a reopen (a restarted server loses nothing it acknowledged)', async () => {
      const m = meta({ size: 6 });
      await store.create(m);
      await store.append(m.id, 0, of(Buffer.from('abc')), NOW);
      const again = await reopen();
      assert.equal((await again.status(m.id, NOW))?.offset, 3);
      await again.append(m.id, 3, of(Buffer.from('def')), NOW);
      assert.equal((await readAll((await again.read(m.id, NOW))?.body ?? of())).toString(), 'abcdef');
      await again.close();
    });

    it('reads byte ranges: the start, the middle, the end, an empty one; refuses one that does not fit', async () => {
      const m = meta({ size: 10 });
      await store.create(m);
      await store.append(m.id, 0, of(Buffer.from('0123456789')), NOW);
      const part = async (start: number, end: number) => {
        const blob = await store.read(m.id, NOW, { start, end });
        assert.equal(blob?.size, 10, 'size is the whole blob’s');
        return (await readAll(blob?.body ?? of())).toString();
      };
      assert.equal(await part(0, 3), '012');
      assert.equal(await part(4, 7), '456');
      assert.equal(await part(9, 10), '9');
      assert.equal(await part(0, 10), '0123456789');
      assert.equal(await part(5, 5), '');
      for (const [start, end] of [
        [0, 11],
        [6, 5],
        [-1, 2],
        [11, 11],
      ] as const) {
        await assert.rejects(store.read(m.id, NOW, { start, end }), (e) => isBlobStoreError(e, 'INVALID_RANGE'));
      }
    });

    it('a large blob in odd-sized pieces survives a reopen midway and reads back whole and by range', async () => {
      const size = 12 * 1024 * 1024 + 12_345;
      const data = randomBytes(size);
      const m = meta({ size });
      await store.create(m);
      const pieces = (from: number, to: number) =>
        (async function* () {
          for (let at = from; at < to; at += 777_777) yield data.subarray(at, Math.min(to, at + 777_777));
        })();
      const cut = 6 * 1024 * 1024 + 3;
      assert.equal(await store.append(m.id, 0, pieces(0, 100), NOW), 100);
      assert.equal(await store.append(m.id, 100, pieces(100, cut), NOW), cut);
      // Past the declared size across a part boundary: nothing of the append is kept.
      const tooLong = (async function* () {
        yield* pieces(cut, size);
        yield Buffer.from('x');
      })();
      await assert.rejects(store.append(m.id, cut, tooLong, NOW), (e) => isBlobStoreError(e, 'BEYOND_DECLARED_SIZE'));
      const again = await reopen();
      assert.equal((await again.status(m.id, NOW))?.offset, cut);
      assert.equal(await again.append(m.id, cut, pieces(cut, size), NOW), size);
      assert.ok((await readAll((await again.read(m.id, NOW))?.body ?? of())).equals(data));
      const start = 5 * 1024 * 1024 - 10;
      const ranged = await readAll((await again.read(m.id, NOW, { start, end: start + 20 }))?.body ?? of());
      assert.ok(ranged.equals(data.subarray(start, start + 20)));
      await again.close();
    });

    it('lists an owner’s unexpired blobs oldest first, and nobody else’s', async () => {
      const owner = `owner-${newId()}`;
      const a = meta({ owner, createdAt: NOW - 2 });
      const b = meta({ owner, createdAt: NOW - 1 });
      await store.create(b);
      await store.create(a);
      await store.create(meta({ owner: 'someone-else' }));
      await store.create(meta({ owner, expiresAt: NOW - 1 }));
      assert.deepEqual(
        (await store.list(owner, NOW)).map((s) => s.id),
        [a.id, b.id],
      );
    });

    it('expired blobs are gone; collect removes them and abandoned uploads, keeps the rest', async () => {
      const owner = `collect-${newId()}`;
      const expired = meta({ owner, size: 1, expiresAt: NOW + 10 });
      const abandoned = meta({ owner, size: 5, createdAt: NOW - 100 });
      const complete = meta({ owner, size: 1, createdAt: NOW - 100 });
      const fresh = meta({ owner, size: 5 });
      for (const m of [expired, abandoned, complete, fresh]) await store.create(m);
      await store.append(expired.id, 0, of(Buffer.from('x')), NOW);
      await store.append(complete.id, 0, of(Buffer.from('y')), NOW);
      const later = NOW + 10;
      assert.equal(await store.read(expired.id, later), undefined);
      assert.equal(await store.status(expired.id, later), undefined);
      assert.ok((await store.collect(later, NOW - 50)) >= 2);
      assert.deepEqual((await store.list(owner, later)).map((s) => s.id).sort(), [complete.id, fresh.id].sort());
    });

    it('deletes by id', async () => {
      const m = meta();
      await store.create(m);
      assert.equal(await store.delete(m.id), true);
      assert.equal(await store.status(m.id, NOW), undefined);
      assert.equal(await store.delete(m.id), false);
    });

    it('answers nothing for ids that are not blob ids (no path can be named)', async () => {
      for (const id of ['../../etc/passwd', 'AAAAAAAAAAAAAAAAAAAAAB', '', 'a/b']) {
        assert.equal(await store.status(id, NOW), undefined, id);
        assert.equal(await store.read(id, NOW), undefined, id);
      }
    });
  });
}
