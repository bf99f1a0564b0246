/**
 * Attachment blobs on top of a `BlobStore` (docs/protocol.md §16.5): upload slots handed to
 * authenticated devices over the relay (`blob-slot`), each with a 128-bit random id and a
 * 256-bit bearer token that only that slot accepts; per-account quotas; the largest attachment;
 * expiry and collection of abandoned uploads. The HTTP side is `blob-routes.ts`.
 *
 * Quotas count declared (padded) sizes of every unexpired blob of the account, complete or
 * not, so a slot reserves its space when it is handed out. Slot requests are serialised, so two
 * at once cannot both pass a quota only one fits.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { attachmentBlobSize, type BlobSlot } from '@parley/protocol';
import { ServerError } from '../errors.ts';
import type { Limits } from '../options.ts';
import type { BlobStatus, BlobStore } from './blob-store.ts';

/**
 * The blob settings, from the server's one limits table (`options.ts`): quota, largest
 * attachment, download rate, abandoned-upload age, and the message TTL blobs expire with.
 */
export type BlobLimits = Pick<
  Limits,
  | 'blobQuotaBytes'
  | 'maxAttachmentBytes'
  | 'abandonedUploadMs'
  | 'blobDownloadRatePerSource'
  | 'blobDownloadBurstPerSource'
  | 'queueTtlMs'
>;

/** The service the relay op and the HTTP routes share. */
export interface BlobService {
  readonly store: BlobStore;
  readonly limits: BlobLimits;
  /** The largest blob size a slot may declare. */
  readonly maxBlobBytes: number;
  /** A slot for `size` bytes owned by `account` (ATTACHMENT_TOO_LARGE, QUOTA_EXCEEDED). */
  createSlot(account: string, device: number, size: number): Promise<BlobSlot>;
  /** Whether `token` is the upload credential of the blob `status` (constant time). */
  tokenOpens(status: BlobStatus, token: string | undefined): boolean;
  /** Every unexpired blob of `account` (for `parley admin export`). */
  list(account: string): Promise<BlobStatus[]>;
  /** Removes expired blobs and abandoned uploads; returns how many. */
  collect(): Promise<number>;
}

const tokenHash = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** Creates the blob service over `store`. */
export function createBlobService(store: BlobStore, limits: BlobLimits, clock: () => number): BlobService {
  const maxBlobBytes = attachmentBlobSize(limits.maxAttachmentBytes);
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const next = chain.then(f, f);
    chain = next.catch(() => undefined);
    return next;
  };
  return {
    store,
    limits,
    maxBlobBytes,
    createSlot(account, _device, size) {
      if (!Number.isSafeInteger(size) || size < 0) throw new ServerError('BAD_FRAME', 'size must be a byte count');
      if (size > maxBlobBytes) {
        throw new ServerError('ATTACHMENT_TOO_LARGE', `blobs on this server are at most ${maxBlobBytes} bytes`, {
          maxBlobBytes,
        });
      }
      return serial(async () => {
        const now = clock();
        const used = (await store.list(account, now)).reduce((n, b) => n + b.size, 0);
        if (used + size > limits.blobQuotaBytes) {
          throw new ServerError('QUOTA_EXCEEDED', 'the account has no room for this blob', {
            usedBytes: used,
            quotaBytes: limits.blobQuotaBytes,
          });
        }
        const id = randomBytes(16).toString('base64url');
        const token = randomBytes(32).toString('base64url');
        const expiresAt = now + limits.queueTtlMs;
        await store.create({ id, owner: account, writer: tokenHash(token), size, createdAt: now, expiresAt });
        return { id, token, uploadBy: now + limits.abandonedUploadMs, expiresAt };
      });
    },
    tokenOpens(status, token) {
      if (token === undefined) return false;
      const given = Buffer.from(tokenHash(token), 'hex');
      const wanted = Buffer.from(status.writer, 'hex');
      return given.length === wanted.length && timingSafeEqual(given, wanted);
    },
    list(account) {
      return store.list(account, clock());
    },
    collect() {
      const now = clock();
      return store.collect(now, now - limits.abandonedUploadMs);
    },
  };
}
