/**
 * `BlobStore` on the file system, the embedded default: `<dataDir>/blobs/` holds, per blob,
 * `<hex id>.meta` (JSON metadata, written by rename), `<hex id>.part` while it is uploading and
 * `<hex id>.blob` once complete. File names are the id in lower-case hex (validated first: no
 * id can name a path, and case-insensitive file systems cannot merge two ids).
 *
 * Appends write at the given position and `fsync` before they resolve, so an acknowledged
 * offset survives a crash; an append that fails (too long, aborted) truncates the file back to
 * where it began. One process owns the directory (several nodes need a shared store: S3).
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BlobMeta, type BlobStatus, type BlobStore, BlobStoreError, isBlobId, rangeFits } from './blob-store.ts';

const hexOf = (id: string): string => {
  if (!isBlobId(id)) throw new BlobStoreError('INVALID_ID', 'not a blob id');
  return Buffer.from(id, 'base64url').toString('hex');
};

/** Opens (creating) a file-system blob store in `dir`. */
export async function openFsBlobStore(dir: string): Promise<BlobStore> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Metadata of every blob, loaded once: listing and quotas need no directory scan.
  const metas = new Map<string, BlobMeta>();
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.meta')) continue;
    try {
      const meta = JSON.parse(await readFile(join(dir, name), 'utf8')) as BlobMeta;
      if (isBlobId(meta.id)) metas.set(meta.id, meta);
    } catch {
      // A metadata file torn by a crash before its rename cannot exist (writes go through a
      // temporary name); anything unreadable here was not written by this store: skip it.
    }
  }
  const busy = new Set<string>();
  const path = (id: string, ext: string) => join(dir, `${hexOf(id)}.${ext}`);
  const sizeOf = async (file: string): Promise<number | undefined> => {
    try {
      return (await stat(file)).size;
    } catch {
      return undefined;
    }
  };
  const live = (id: string, now: number): BlobMeta | undefined => {
    const meta = metas.get(id);
    return meta !== undefined && meta.expiresAt > now ? meta : undefined;
  };
  const statusOf = async (meta: BlobMeta): Promise<BlobStatus | undefined> => {
    const done = await sizeOf(path(meta.id, 'blob'));
    if (done !== undefined) return { ...meta, offset: done, complete: true };
    const part = await sizeOf(path(meta.id, 'part'));
    return part === undefined ? undefined : { ...meta, offset: part, complete: false };
  };
  const remove = async (id: string): Promise<boolean> => {
    const had = metas.delete(id);
    await rm(path(id, 'blob'), { force: true });
    await rm(path(id, 'part'), { force: true });
    await rm(path(id, 'meta'), { force: true });
    return had;
  };

  return {
    name: 'fs',
    async create(meta) {
      if (metas.has(meta.id)) throw new BlobStoreError('EXISTS', 'a blob with this id exists');
      const tmp = `${path(meta.id, 'meta')}.tmp`;
      await writeFile(path(meta.id, 'part'), new Uint8Array(0), { flag: 'wx', mode: 0o600 });
      await writeFile(tmp, JSON.stringify(meta), { mode: 0o600 });
      await rename(tmp, path(meta.id, 'meta'));
      metas.set(meta.id, meta);
    },
    async status(id, now) {
      if (!isBlobId(id)) return undefined;
      const meta = live(id, now);
      return meta === undefined ? undefined : statusOf(meta);
    },
    async append(id, offset, source, now) {
      if (!isBlobId(id)) throw new BlobStoreError('INVALID_ID', 'not a blob id');
      const meta = live(id, now);
      if (meta === undefined) throw new BlobStoreError('NOT_FOUND', 'no such blob');
      if (busy.has(id)) throw new BlobStoreError('BUSY', 'another upload to this blob is running');
      busy.add(id);
      try {
        const status = await statusOf(meta);
        if (status === undefined) throw new BlobStoreError('NOT_FOUND', 'no such blob');
        if (status.complete) throw new BlobStoreError('COMPLETE', 'the blob is complete', status.offset);
        if (offset !== status.offset) {
          throw new BlobStoreError('OFFSET_MISMATCH', 'the offset is not the stored offset', status.offset);
        }
        const file = await open(path(id, 'part'), 'r+');
        let at = offset;
        try {
          for await (const piece of source) {
            if (at + piece.length > meta.size) {
              throw new BlobStoreError('BEYOND_DECLARED_SIZE', 'the upload goes past the declared size');
            }
            let done = 0;
            while (done < piece.length) {
              const { bytesWritten } = await file.write(piece, done, piece.length - done, at + done);
              done += bytesWritten;
            }
            at += piece.length;
          }
          await file.sync();
        } catch (err) {
          // Nothing of a refused or broken append is kept: back to where it began.
          await file.truncate(offset);
          await file.sync();
          throw err;
        } finally {
          await file.close();
        }
        if (at === meta.size) await rename(path(id, 'part'), path(id, 'blob'));
        return at;
      } finally {
        busy.delete(id);
      }
    },
    async read(id, now, range) {
      if (!isBlobId(id) || live(id, now) === undefined) return undefined;
      const file = path(id, 'blob');
      const size = await sizeOf(file);
      if (size === undefined) return undefined;
      if (range === undefined) return { size, body: createReadStream(file, { highWaterMark: 64 * 1024 }) };
      if (!rangeFits(range, size)) throw new BlobStoreError('INVALID_RANGE', 'the range does not fit the blob');
      // createReadStream's `end` is inclusive, and an empty range must read nothing at all.
      const body =
        range.start === range.end
          ? (async function* () {})()
          : createReadStream(file, { highWaterMark: 64 * 1024, start: range.start, end: range.end - 1 });
      return { size, body };
    },
    async delete(id) {
      if (!isBlobId(id)) return false;
      return remove(id);
    },
    async list(owner, now) {
      const out: BlobStatus[] = [];
      for (const meta of metas.values()) {
        if (meta.owner !== owner || meta.expiresAt <= now) continue;
        const status = await statusOf(meta);
        if (status !== undefined) out.push(status);
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    },
    async collect(now, abandonedBefore) {
      let removed = 0;
      for (const meta of [...metas.values()]) {
        if (busy.has(meta.id)) continue;
        const expired = meta.expiresAt <= now;
        const abandoned =
          !expired && meta.createdAt < abandonedBefore && (await sizeOf(path(meta.id, 'blob'))) === undefined;
        if (expired || abandoned) {
          await remove(meta.id);
          removed++;
        }
      }
      return removed;
    },
    async probe() {
      // 4 KiB needs a block of its own: a full file system refuses it.
      const file = await open(join(dir, '.probe'), 'w', 0o600);
      try {
        await file.write(new Uint8Array(4096));
        await file.sync();
      } finally {
        await file.close();
      }
      await rm(join(dir, '.probe'), { force: true });
    },
    async close() {},
  };
}
