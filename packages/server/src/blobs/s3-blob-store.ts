/**
 * `BlobStore` on S3-compatible object storage (`--blobs s3://…`, `s3-blob-url.ts`), so several
 * nodes share blobs. The AWS SDK is imported here only, and this module only by a dynamic
 * import when S3 is configured: a server on the file system never loads it.
 *
 * Layout under the location's prefix (every id in lower-case hex, as `fs-blob-store.ts` names
 * files, so no id can name another key):
 *
 *   meta/<hex>               JSON `S3Record`: the blob's metadata and upload state
 *   owner/<sha256(owner)>/<hex>   empty marker, so `list(owner)` reads only that owner's blobs
 *   blob/<hex>               the complete blob
 *   tail/<hex>/<offset>      the acknowledged bytes after the last whole part (< PART_SIZE)
 *
 * Resumable uploads on multipart upload (docs/operating.md, "S3"). S3 parts must be at least
 * 5 MiB except the last, while a client's PATCH may carry any amount; so an upload's bytes are
 * (whole parts of `PART_SIZE` already uploaded) ‖ (a tail shorter than one part). An append
 * loads the tail, adds the request's bytes, uploads each full part as it fills (the multipart
 * upload is created with the first one), stores what is left as a new tail object, and only
 * then rewrites `meta/<hex>` with the part list, the tail's key and the new offset. That one
 * PUT is the commit: until it returns, the record still names the old parts and tail, so a
 * crash or a refused append (past the declared size, a broken connection) leaves the offset
 * where it was; parts uploaded meanwhile are overwritten by the next append (same part
 * numbers) and never named in the completion. Once the offset reaches the declared size the
 * tail goes up as the last part and the upload is completed (a blob smaller than one part is
 * a single PUT, no multipart upload). Memory per running append: one part buffer
 * (`PART_SIZE`, 5 MiB) plus the piece being read.
 *
 * Appends to one blob are serialised within a node (`BUSY`); a slot belongs to one device that
 * uploads in order, and a second node's concurrent append would at worst make one of the two
 * records lose: the client then sees `OFFSET_MISMATCH` on its next request and resumes.
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  type BlobBody,
  type BlobMeta,
  type BlobStatus,
  type BlobStore,
  BlobStoreError,
  isBlobId,
  rangeFits,
} from './blob-store.ts';
import type { S3BlobLocation } from './s3-blob-url.ts';

/** Bytes of every part but the last (S3's minimum part size). */
export const PART_SIZE = 5 * 1024 * 1024;

/** What `meta/<hex>` holds. */
interface S3Record extends BlobMeta {
  readonly v: 1;
  readonly offset: number;
  readonly complete: boolean;
  /** The multipart upload, once its first part went up. */
  readonly uploadId?: string;
  /** Uploaded parts, each `PART_SIZE` bytes, in order (numbers 1…n). */
  readonly parts: readonly { readonly n: number; readonly etag: string }[];
  /** Key of the tail object (the bytes after the last part), when there are such bytes. */
  readonly tail?: string;
}

const hexOf = (id: string): string => {
  if (!isBlobId(id)) throw new BlobStoreError('INVALID_ID', 'not a blob id');
  return Buffer.from(id, 'base64url').toString('hex');
};
const idOf = (hex: string): string => Buffer.from(hex, 'hex').toString('base64url');
const ownerHash = (owner: string): string => createHash('sha256').update(owner, 'utf8').digest('hex');

/** True for the SDK's "no such key/upload" answers. */
function missing(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

const statusOf = (r: S3Record): BlobStatus => ({
  id: r.id,
  owner: r.owner,
  writer: r.writer,
  size: r.size,
  createdAt: r.createdAt,
  expiresAt: r.expiresAt,
  offset: r.offset,
  complete: r.complete,
});

async function* nothing(): AsyncGenerator<Uint8Array> {}

/**
 * Opens the S3 blob store at `location`. Checks the bucket is reachable (HeadBucket) so a
 * misconfigured server stops at start rather than at the first upload.
 */
export async function openS3BlobStore(location: S3BlobLocation): Promise<BlobStore> {
  const s3 = await import('@aws-sdk/client-s3');
  const client: S3Client = new s3.S3Client({
    region: location.region,
    forcePathStyle: location.forcePathStyle,
    ...(location.endpoint === undefined ? {} : { endpoint: location.endpoint }),
    ...(location.credentials === undefined ? {} : { credentials: location.credentials }),
  });
  const Bucket = location.bucket;
  const key = (...parts: string[]) => `${location.prefix}${parts.join('/')}`;
  try {
    await client.send(new s3.HeadBucketCommand({ Bucket }));
  } catch (err) {
    client.destroy();
    const e = err as { $metadata?: { httpStatusCode?: number }; code?: string; name?: string };
    const status = e.$metadata?.httpStatusCode;
    const why = status === undefined ? (e.code ?? e.name ?? 'error') : `HTTP ${status}`;
    throw new Error(`the blob bucket ${location.display} is not reachable (${why})`);
  }

  const getBytes = async (k: string, range?: string): Promise<Uint8Array | undefined> => {
    try {
      const out = await client.send(new s3.GetObjectCommand({ Bucket, Key: k, ...(range ? { Range: range } : {}) }));
      return out.Body === undefined ? new Uint8Array(0) : await out.Body.transformToByteArray();
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  };
  const objectSize = async (k: string): Promise<number | undefined> => {
    try {
      return (await client.send(new s3.HeadObjectCommand({ Bucket, Key: k }))).ContentLength;
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  };
  const put = (k: string, body: Uint8Array | string) => {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    return client.send(new s3.PutObjectCommand({ Bucket, Key: k, Body: bytes, ContentLength: bytes.length }));
  };
  const del = async (k: string) => {
    await client.send(new s3.DeleteObjectCommand({ Bucket, Key: k }));
  };
  const keys = async function* (prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await client.send(
        new s3.ListObjectsV2Command({ Bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const o of page.Contents ?? []) if (o.Key !== undefined) yield o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  };
  const record = async (id: string): Promise<S3Record | undefined> => {
    if (!isBlobId(id)) return undefined;
    const bytes = await getBytes(key('meta', hexOf(id)));
    if (bytes === undefined) return undefined;
    const r = JSON.parse(Buffer.from(bytes).toString('utf8')) as S3Record;
    return r.v === 1 && r.id === id ? r : undefined;
  };
  const save = (r: S3Record) => put(key('meta', hexOf(r.id)), JSON.stringify(r));
  const abortUpload = async (hex: string, uploadId: string): Promise<void> => {
    try {
      await client.send(new s3.AbortMultipartUploadCommand({ Bucket, Key: key('blob', hex), UploadId: uploadId }));
    } catch {
      // Best effort: an upload not aborted is removed by the bucket's AbortIncompleteMultipartUpload
      // lifecycle rule (docs/operating.md asks for one); some S3 servers cannot abort at all.
    }
  };
  const remove = async (r: S3Record): Promise<void> => {
    const hex = hexOf(r.id);
    if (r.uploadId !== undefined && !r.complete) await abortUpload(hex, r.uploadId);
    await del(key('blob', hex));
    for await (const k of keys(key('tail', hex, ''))) await del(k);
    await del(key('owner', ownerHash(r.owner), hex));
    // The record goes last: a removal cut short is found and finished by the next collection.
    await del(key('meta', hex));
  };
  const live = (r: S3Record | undefined, now: number): r is S3Record => r !== undefined && r.expiresAt > now;
  const busy = new Set<string>();

  const append = async (r: S3Record, source: AsyncIterable<Uint8Array>): Promise<number> => {
    const hex = hexOf(r.id);
    const blobKey = key('blob', hex);
    let buffer: Uint8Array | undefined;
    let filled = 0;
    if (r.tail !== undefined) {
      const tail = await getBytes(r.tail);
      if (tail === undefined) throw new Error('the upload tail object is missing from the bucket');
      buffer = new Uint8Array(PART_SIZE);
      buffer.set(tail);
      filled = tail.length;
    }
    let uploadId = r.uploadId;
    const parts = [...r.parts];
    let at = r.offset;
    const createdHere = uploadId === undefined;
    const uploadPart = async (bytes: Uint8Array): Promise<void> => {
      if (uploadId === undefined) {
        const made = await client.send(new s3.CreateMultipartUploadCommand({ Bucket, Key: blobKey }));
        if (made.UploadId === undefined) throw new Error('the S3 server answered no upload id');
        uploadId = made.UploadId;
      }
      const n = parts.length + 1;
      const out = await client.send(
        new s3.UploadPartCommand({
          Bucket,
          Key: blobKey,
          UploadId: uploadId,
          PartNumber: n,
          Body: bytes,
          ContentLength: bytes.length,
        }),
      );
      if (out.ETag === undefined) throw new Error('the S3 server answered no part ETag');
      parts.push({ n, etag: out.ETag });
    };
    try {
      for await (const piece of source) {
        if (at + piece.length > r.size) {
          throw new BlobStoreError('BEYOND_DECLARED_SIZE', 'the upload goes past the declared size');
        }
        let used = 0;
        while (used < piece.length) {
          buffer ??= new Uint8Array(PART_SIZE);
          const take = Math.min(PART_SIZE - filled, piece.length - used);
          buffer.set(piece.subarray(used, used + take), filled);
          filled += take;
          used += take;
          if (filled === PART_SIZE) {
            await uploadPart(buffer);
            filled = 0;
          }
        }
        at += piece.length;
      }
      if (at === r.offset && at !== r.size) return at;
      const rest = buffer === undefined ? new Uint8Array(0) : buffer.subarray(0, filled);
      if (at === r.size) {
        if (uploadId === undefined) await put(blobKey, rest);
        else {
          if (rest.length > 0) await uploadPart(rest);
          await client.send(
            new s3.CompleteMultipartUploadCommand({
              Bucket,
              Key: blobKey,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.n, ETag: p.etag })) },
            }),
          );
        }
        const { uploadId: _u, tail: _t, ...kept } = r;
        await save({ ...kept, offset: at, complete: true, parts: [] });
      } else {
        const tail = rest.length > 0 ? key('tail', hex, String(at)) : undefined;
        if (tail !== undefined) await put(tail, rest);
        const { uploadId: _u, tail: _t, ...kept } = r;
        await save({
          ...kept,
          offset: at,
          parts,
          ...(uploadId === undefined ? {} : { uploadId }),
          ...(tail === undefined ? {} : { tail }),
        });
      }
    } catch (err) {
      // Nothing was committed: an upload this append began is not named by the record.
      if (createdHere && uploadId !== undefined) await abortUpload(hex, uploadId);
      // A crash between completing the upload and saving the record leaves a record whose
      // upload is gone: the blob is there whole, so the record is finished now.
      if (missing(err) && r.uploadId !== undefined && (await objectSize(blobKey)) === r.size) {
        const { uploadId: _u, tail: _t, ...kept } = r;
        await save({ ...kept, offset: r.size, complete: true, parts: [] });
        return r.size;
      }
      throw err;
    }
    // The old tail is no longer named by the record.
    if (r.tail !== undefined) await del(r.tail).catch(() => undefined);
    return at;
  };

  return {
    name: 's3',
    async create(meta) {
      const hex = hexOf(meta.id);
      if ((await record(meta.id)) !== undefined) throw new BlobStoreError('EXISTS', 'a blob with this id exists');
      await put(key('owner', ownerHash(meta.owner), hex), '');
      await save({ ...meta, v: 1, offset: 0, complete: false, parts: [] });
    },
    async status(id, now) {
      const r = await record(id);
      return live(r, now) ? statusOf(r) : undefined;
    },
    async append(id, offset, source, now) {
      if (!isBlobId(id)) throw new BlobStoreError('INVALID_ID', 'not a blob id');
      if (busy.has(id)) throw new BlobStoreError('BUSY', 'another upload to this blob is running');
      busy.add(id);
      try {
        const r = await record(id);
        if (!live(r, now)) throw new BlobStoreError('NOT_FOUND', 'no such blob');
        if (r.complete) throw new BlobStoreError('COMPLETE', 'the blob is complete', r.offset);
        if (offset !== r.offset) {
          throw new BlobStoreError('OFFSET_MISMATCH', 'the offset is not the stored offset', r.offset);
        }
        return await append(r, source);
      } finally {
        busy.delete(id);
      }
    },
    async read(id, now, range): Promise<BlobBody | undefined> {
      const r = await record(id);
      if (!live(r, now) || !r.complete) return undefined;
      if (range !== undefined && !rangeFits(range, r.size)) {
        throw new BlobStoreError('INVALID_RANGE', 'the range does not fit the blob');
      }
      // S3 has no empty range (and an empty object needs none).
      if (r.size === 0 || (range !== undefined && range.start === range.end)) return { size: r.size, body: nothing() };
      const whole = range === undefined || (range.start === 0 && range.end === r.size);
      try {
        const out = await client.send(
          new s3.GetObjectCommand({
            Bucket,
            Key: key('blob', hexOf(id)),
            ...(whole ? {} : { Range: `bytes=${range.start}-${range.end - 1}` }),
          }),
        );
        const body = (out.Body as AsyncIterable<Uint8Array> | undefined) ?? nothing();
        return { size: r.size, body };
      } catch (err) {
        if (missing(err)) return undefined;
        throw err;
      }
    },
    async delete(id) {
      const r = await record(id);
      if (r === undefined) return false;
      await remove(r);
      return true;
    },
    async list(owner, now) {
      const out: BlobStatus[] = [];
      for await (const k of keys(key('owner', ownerHash(owner), ''))) {
        const hex = k.slice(k.lastIndexOf('/') + 1);
        if (!/^[0-9a-f]{32}$/.test(hex)) continue;
        const r = await record(idOf(hex));
        if (live(r, now) && r.owner === owner) out.push(statusOf(r));
      }
      return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    },
    async collect(now, abandonedBefore) {
      let removed = 0;
      for await (const k of keys(key('meta', ''))) {
        const hex = k.slice(k.lastIndexOf('/') + 1);
        if (!/^[0-9a-f]{32}$/.test(hex)) continue;
        const id = idOf(hex);
        if (busy.has(id)) continue;
        const r = await record(id);
        if (r === undefined) continue;
        if (r.expiresAt <= now || (!r.complete && r.createdAt < abandonedBefore)) {
          await remove(r);
          removed++;
        }
      }
      return removed;
    },
    async close() {
      client.destroy();
    },
  };
}
