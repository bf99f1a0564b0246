/**
 * The blob HTTP API's shared vocabulary (docs/protocol.md §16.5): the path, the headers of the
 * resumable offset protocol, the slot a device gets from the relay's `blob-slot` op, and the
 * typed refusals. Server and client both take these from here.
 */

/** Blobs live at `${BLOB_PATH}<id>` (id: base64url of 16 random bytes). */
export const BLOB_PATH = '/v1/blobs/';
/** Request and response header carrying the upload offset (as tus 1.0 core names it). */
export const UPLOAD_OFFSET_HEADER = 'upload-offset';
/** Response header carrying a blob's declared size. */
export const UPLOAD_LENGTH_HEADER = 'upload-length';
/** Content type of an upload body (as tus 1.0 core names it). */
export const UPLOAD_CONTENT_TYPE = 'application/offset+octet-stream';
/** Largest body one PATCH may carry; a client uploads a large blob in several. */
export const MAX_UPLOAD_REQUEST_BYTES = 32 * 1024 * 1024;

/** What `blob-slot` answers: where to upload, with what credential, until when. */
export interface BlobSlot {
  /** base64url of the 16-byte blob id (what the attachment pointer carries). */
  readonly id: string;
  /** Bearer credential for HEAD and PATCH of this slot only (base64url of 32 bytes). */
  readonly token: string;
  /** When the slot is collected if the upload has not completed (ms since the epoch). */
  readonly uploadBy: number;
  /** When the blob expires once complete (ms since the epoch). */
  readonly expiresAt: number;
}

/** Every code a refusal of the blob HTTP API carries (JSON body `{ code, message }`). */
export type BlobErrorCode =
  /** The id names no blob (never created, expired, collected or deleted), or it is not complete yet. */
  | 'BLOB_NOT_FOUND'
  /** No or wrong upload token: the slot belongs to another device, or the token is not this slot's. */
  | 'NOT_YOUR_SLOT'
  /** `Upload-Offset` is not the server's offset (the response carries the server's). */
  | 'OFFSET_MISMATCH'
  /** The body would go past the slot's declared size; nothing of it was stored. */
  | 'BEYOND_DECLARED_SIZE'
  /** The body exceeds `MAX_UPLOAD_REQUEST_BYTES`. */
  | 'REQUEST_TOO_LARGE'
  /** Another upload to the same slot is running. */
  | 'UPLOAD_IN_PROGRESS'
  /** The slot is already complete. */
  | 'UPLOAD_COMPLETE'
  /** A download's `Range` is malformed, asks several ranges, or lies past the blob's end (HTTP 416). */
  | 'RANGE_NOT_SATISFIABLE'
  /** Too many downloads from this address; retry after `retryAfterMs`. */
  | 'RATE_LIMITED'
  /** A malformed request (bad id, missing header). */
  | 'BAD_REQUEST'
  | 'INTERNAL';

/** The JSON body of a blob API refusal. */
export interface BlobErrorBody {
  readonly code: BlobErrorCode;
  readonly message: string;
  /** With `OFFSET_MISMATCH`: the server's offset. With `RATE_LIMITED`: when to retry. */
  readonly offset?: number;
  readonly retryAfterMs?: number;
}

const CODES: readonly BlobErrorCode[] = [
  'BLOB_NOT_FOUND',
  'NOT_YOUR_SLOT',
  'OFFSET_MISMATCH',
  'BEYOND_DECLARED_SIZE',
  'REQUEST_TOO_LARGE',
  'UPLOAD_IN_PROGRESS',
  'UPLOAD_COMPLETE',
  'RANGE_NOT_SATISFIABLE',
  'RATE_LIMITED',
  'BAD_REQUEST',
  'INTERNAL',
];

/** Reads a refusal body from the (untrusted) server: undefined unless it has the documented shape. */
export function readBlobErrorBody(value: unknown): BlobErrorBody | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.code !== 'string' || !CODES.includes(v.code as BlobErrorCode) || typeof v.message !== 'string') {
    return undefined;
  }
  const count = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
  return {
    code: v.code as BlobErrorCode,
    message: v.message,
    ...(count(v.offset) ? { offset: v.offset as number } : {}),
    ...(count(v.retryAfterMs) ? { retryAfterMs: v.retryAfterMs as number } : {}),
  };
}
