/**
 * The blob store role: opaque byte blobs by id, written once (in resumable appends) and read
 * whole or by byte range, with an owner (the unit of quota) and an expiry. It knows nothing of
 * messages, so attachments, history transfer and backups can all use it (issue 21). Adapters:
 * `fs-blob-store.ts` (files under the data dir, the embedded default) and `s3-blob-store.ts`
 * (S3-compatible object storage, shared by several nodes). Every adapter passes the contract
 * suite in `test/blobs/blob-store-contract.ts`.
 *
 * An acknowledged append is durable: `append` resolves only after the bytes are synced.
 */

/** What a blob is created with. */
export interface BlobMeta {
  /** base64url of 16 random bytes (`isBlobId`). */
  readonly id: string;
  /** The account whose quota the blob counts against. */
  readonly owner: string;
  /** Who may append: an opaque string the service compares (a hash of the slot's token). */
  readonly writer: string;
  /** Exact size the blob will have once complete, in bytes. */
  readonly size: number;
  readonly createdAt: number;
  /** After this time (ms since the epoch) the blob is gone, complete or not. */
  readonly expiresAt: number;
}

/** A blob's metadata and how far its upload has come. */
export interface BlobStatus extends BlobMeta {
  /** Bytes stored so far (the resume offset); equals `size` once complete. */
  readonly offset: number;
  readonly complete: boolean;
}

/** Every code a `BlobStoreError` carries. */
export type BlobStoreErrorCode =
  | 'NOT_FOUND'
  | 'EXISTS'
  | 'OFFSET_MISMATCH'
  | 'BEYOND_DECLARED_SIZE'
  | 'BUSY'
  | 'COMPLETE'
  | 'INVALID_ID'
  | 'INVALID_RANGE';

/** A refusal of a blob store; `offset` is the store's offset with `OFFSET_MISMATCH`. */
export class BlobStoreError extends Error {
  readonly code: BlobStoreErrorCode;
  readonly offset: number | undefined;

  constructor(code: BlobStoreErrorCode, message: string, offset?: number) {
    super(message);
    this.name = 'BlobStoreError';
    this.code = code;
    this.offset = offset;
  }
}

/** True when `err` is a `BlobStoreError`, optionally with the given code. */
export function isBlobStoreError(err: unknown, code?: BlobStoreErrorCode): err is BlobStoreError {
  return err instanceof BlobStoreError && (code === undefined || err.code === code);
}

const ID = /^[A-Za-z0-9_-]{22}$/;

/** Whether `id` has the shape of a blob id (22 base64url characters: 128 bits). */
export function isBlobId(id: string): boolean {
  return ID.test(id) && /[AQgw]$/.test(id);
}

/** Bytes `[start, end)` of a blob (`end` exclusive; `start <= end <= size`). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** What `read` answers: the blob's whole size and the bytes asked for (all of them without a range). */
export interface BlobBody {
  /** The complete blob's size (not the range's). */
  readonly size: number;
  readonly body: AsyncIterable<Uint8Array>;
}

/** Whether `range` lies within a blob of `size` bytes. */
export function rangeFits(range: ByteRange, size: number): boolean {
  return (
    Number.isSafeInteger(range.start) &&
    Number.isSafeInteger(range.end) &&
    range.start >= 0 &&
    range.start <= range.end &&
    range.end <= size
  );
}

/** The blob store role. */
export interface BlobStore {
  /** Short name for logs: `fs`, `s3`. */
  readonly name: string;
  /** Creates an empty blob; `EXISTS` if the id is taken. */
  create(meta: BlobMeta): Promise<void>;
  /** Metadata and offset, or undefined when there is no such blob (or it has expired). */
  status(id: string, now: number): Promise<BlobStatus | undefined>;
  /**
   * Appends `source` at `offset` and resolves with the new offset once the bytes are durable.
   * Refuses with `OFFSET_MISMATCH` (offset is not the store's), `BEYOND_DECLARED_SIZE` (the
   * source goes past `size`: nothing of this append is kept), `BUSY` (another append runs),
   * `COMPLETE`, `NOT_FOUND`. On any failure, the store's offset is what it was before the call
   * or a later synced one.
   */
  append(id: string, offset: number, source: AsyncIterable<Uint8Array>, now: number): Promise<number>;
  /**
   * A complete, unexpired blob's bytes (only `range` of them when given), or undefined.
   * `INVALID_RANGE` when the range does not fit the blob (`rangeFits`).
   */
  read(id: string, now: number, range?: ByteRange): Promise<BlobBody | undefined>;
  /** Deletes a blob; false if there was none. */
  delete(id: string): Promise<boolean>;
  /** Every blob of `owner` (complete or not, unexpired), oldest first. */
  list(owner: string, now: number): Promise<BlobStatus[]>;
  /**
   * Removes expired blobs and incomplete ones created before `abandonedBefore`; returns how
   * many it removed.
   */
  collect(now: number, abandonedBefore: number): Promise<number>;
  /**
   * Checks the store can take a write now (the file system: writes, syncs and removes a small
   * file), rejecting with the system error; absent where there is nothing local to check (S3).
   * `/healthz` reports its failures (`blob-health.ts`).
   */
  probe?(): Promise<void>;
  close(): Promise<void>;
}
