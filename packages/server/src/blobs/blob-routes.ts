/**
 * The blob HTTP API (docs/protocol.md §16.5), a resumable offset protocol with tus 1.0 core's
 * header names, slots created over the authenticated relay instead of tus's creation extension:
 *
 *   HEAD  /v1/blobs/<id>   Authorization: Bearer <token>  → 200, Upload-Offset, Upload-Length
 *   PATCH /v1/blobs/<id>   Authorization: Bearer <token>, Upload-Offset: n,
 *                          Content-Type: application/offset+octet-stream, body
 *                                                       → 204, Upload-Offset (durable)
 *   GET   /v1/blobs/<id>                                 → 200, the complete blob
 *   GET   /v1/blobs/<id>   Range: bytes=a-b | a- | -n    → 206, Content-Range, those bytes;
 *                                                          416 when the range is malformed,
 *                                                          several ranges, or past the end
 *
 * Downloads need only the id (so the server cannot tie a download to an account) and are
 * rate-limited per source address. Every refusal is JSON `{ code, message }` (`BlobErrorCode`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import {
  BLOB_PATH,
  type BlobErrorBody,
  type BlobErrorCode,
  MAX_UPLOAD_REQUEST_BYTES,
  UPLOAD_CONTENT_TYPE,
  UPLOAD_LENGTH_HEADER,
  UPLOAD_OFFSET_HEADER,
} from '@parley/protocol';
import type { Logger } from 'pino';
import { createBucketMap } from '../relay/rate-limit.ts';
import { sourceKey } from '../relay/source-limits.ts';
import type { BlobService } from './blob-service.ts';
import { isBlobId, isBlobStoreError } from './blob-store.ts';

const HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

const STATUS: Record<BlobErrorCode, number> = {
  BLOB_NOT_FOUND: 404,
  NOT_YOUR_SLOT: 403,
  OFFSET_MISMATCH: 409,
  BEYOND_DECLARED_SIZE: 413,
  REQUEST_TOO_LARGE: 413,
  UPLOAD_IN_PROGRESS: 423,
  UPLOAD_COMPLETE: 409,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  BAD_REQUEST: 400,
  INTERNAL: 500,
};

function refuse(res: ServerResponse, code: BlobErrorCode, message: string, extra: Partial<BlobErrorBody> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: BlobErrorBody = { code, message, ...extra };
  res.writeHead(STATUS[code], {
    ...HEADERS,
    'content-type': 'application/json',
    ...(extra.offset !== undefined ? { [UPLOAD_OFFSET_HEADER]: String(extra.offset) } : {}),
    // A refused upload's body is not read: the connection cannot be reused.
    connection: 'close',
  });
  res.end(JSON.stringify(body));
}

const bearer = (req: IncomingMessage): string | undefined => {
  const m = /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(req.headers.authorization ?? '');
  return m?.[1];
};

/**
 * The one byte range a `Range` header asks of a blob of `size` bytes (RFC 9110 §14.1.2), as
 * `[start, end)`: undefined without the header, 'invalid' when it is malformed, asks several
 * ranges (no multipart/byteranges here) or none of its bytes exist.
 */
export function requestedRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'invalid' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim());
  if (m === null) return 'invalid';
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return 'invalid';
  if (first === '') {
    // A suffix: the last n bytes (all of them when n is larger than the blob).
    const n = Number(last);
    return n === 0 || size === 0 ? 'invalid' : { start: Math.max(0, size - n), end: size };
  }
  const start = Number(first);
  const end = last === '' ? size : Math.min(size, Number(last) + 1);
  return start >= size || end <= start ? 'invalid' : { start, end };
}

const count = (text: string | undefined): number | undefined =>
  text !== undefined && /^\d{1,16}$/.test(text) ? Number(text) : undefined;

/** The request body as an async iterable that stops (refusing) past `max` bytes. */
async function* bounded(req: IncomingMessage, max: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const piece of req as AsyncIterable<Buffer>) {
    seen += piece.length;
    if (seen > max) throw new RangeError('request too large');
    yield piece;
  }
}

/**
 * The handler of `/v1/blobs/…`; returns false for any other path (the caller answers it).
 */
export function blobRoutes(
  blobs: BlobService,
  clock: () => number,
  log: Logger,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const downloads = createBucketMap(blobs.limits.blobDownloadRatePerSource, blobs.limits.blobDownloadBurstPerSource);
  const { store } = blobs;

  const upload = async (req: IncomingMessage, res: ServerResponse, id: string): Promise<void> => {
    const status = await store.status(id, clock());
    if (status === undefined) return refuse(res, 'BLOB_NOT_FOUND', 'no such upload slot');
    if (!blobs.tokenOpens(status, bearer(req))) {
      return refuse(res, 'NOT_YOUR_SLOT', 'this upload slot belongs to another device or the token is wrong');
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, {
        ...HEADERS,
        [UPLOAD_OFFSET_HEADER]: String(status.offset),
        [UPLOAD_LENGTH_HEADER]: String(status.size),
      });
      res.end();
      return;
    }
    if (status.complete) return refuse(res, 'UPLOAD_COMPLETE', 'the upload is complete', { offset: status.offset });
    const offset = count(req.headers[UPLOAD_OFFSET_HEADER] as string | undefined);
    if (offset === undefined || req.headers['content-type'] !== UPLOAD_CONTENT_TYPE) {
      return refuse(res, 'BAD_REQUEST', `a PATCH needs Upload-Offset and Content-Type: ${UPLOAD_CONTENT_TYPE}`);
    }
    const length = count(req.headers['content-length']);
    if (length !== undefined && length > MAX_UPLOAD_REQUEST_BYTES) {
      return refuse(res, 'REQUEST_TOO_LARGE', `one PATCH carries at most ${MAX_UPLOAD_REQUEST_BYTES} bytes`);
    }
    if (offset !== status.offset) {
      return refuse(res, 'OFFSET_MISMATCH', 'Upload-Offset is not the stored offset', { offset: status.offset });
    }
    if (length !== undefined && offset + length > status.size) {
      return refuse(res, 'BEYOND_DECLARED_SIZE', 'the body goes past the declared size; nothing was stored');
    }
    try {
      const at = await store.append(id, offset, bounded(req, MAX_UPLOAD_REQUEST_BYTES), clock());
      res.writeHead(204, { ...HEADERS, [UPLOAD_OFFSET_HEADER]: String(at) });
      res.end();
    } catch (err) {
      if (err instanceof RangeError) {
        return refuse(res, 'REQUEST_TOO_LARGE', `one PATCH carries at most ${MAX_UPLOAD_REQUEST_BYTES} bytes`);
      }
      if (!isBlobStoreError(err)) throw err;
      switch (err.code) {
        case 'BEYOND_DECLARED_SIZE':
          return refuse(res, 'BEYOND_DECLARED_SIZE', 'the body goes past the declared size; nothing of it was stored');
        case 'OFFSET_MISMATCH':
          return refuse(res, 'OFFSET_MISMATCH', 'Upload-Offset is not the stored offset', {
            ...(err.offset !== undefined ? { offset: err.offset } : {}),
          });
        case 'BUSY':
          return refuse(res, 'UPLOAD_IN_PROGRESS', 'another upload to this slot is running');
        case 'COMPLETE':
          return refuse(res, 'UPLOAD_COMPLETE', 'the upload is complete');
        default:
          return refuse(res, 'BLOB_NOT_FOUND', 'no such upload slot');
      }
    }
  };

  const download = async (req: IncomingMessage, res: ServerResponse, id: string): Promise<void> => {
    const now = clock();
    const gone = () => refuse(res, 'BLOB_NOT_FOUND', 'no such blob (never uploaded, incomplete or expired)');
    const header = req.headers.range;
    if (header === undefined) {
      const blob = await store.read(id, now);
      if (blob === undefined) return gone();
      res.writeHead(200, {
        ...HEADERS,
        'content-type': 'application/octet-stream',
        'content-length': String(blob.size),
        'accept-ranges': 'bytes',
      });
      await pipeline(blob.body, res);
      return;
    }
    // A range needs the size first; a blob is immutable once complete, so no If-Range is needed.
    const status = await store.status(id, now);
    if (status === undefined || !status.complete) return gone();
    const range = requestedRange(header, status.size);
    if (range === undefined || range === 'invalid') {
      res.writeHead(416, {
        ...HEADERS,
        'content-type': 'application/json',
        'content-range': `bytes */${status.size}`,
      });
      const body: BlobErrorBody = {
        code: 'RANGE_NOT_SATISFIABLE',
        message: 'the range is malformed, asks several ranges, or lies past the end of the blob',
      };
      res.end(JSON.stringify(body));
      return;
    }
    const blob = await store.read(id, now, range);
    if (blob === undefined) return gone();
    res.writeHead(206, {
      ...HEADERS,
      'content-type': 'application/octet-stream',
      'content-length': String(range.end - range.start),
      'content-range': `bytes ${range.start}-${range.end - 1}/${blob.size}`,
      'accept-ranges': 'bytes',
    });
    await pipeline(blob.body, res);
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (!path.startsWith(BLOB_PATH)) return false;
    const id = path.slice(BLOB_PATH.length);
    const run = async () => {
      // Every GET counts, a guessed id too: the limit is what makes guessing ids slow.
      if (req.method === 'GET') {
        const wait = downloads.take(sourceKey(req.socket.remoteAddress), clock());
        if (wait > 0)
          return refuse(res, 'RATE_LIMITED', 'too many downloads from this address', { retryAfterMs: wait });
      }
      if (!isBlobId(id)) return refuse(res, 'BLOB_NOT_FOUND', 'not a blob id');
      if (req.method === 'GET') return download(req, res, id);
      if (req.method === 'HEAD' || req.method === 'PATCH') return upload(req, res, id);
      res.writeHead(405, { ...HEADERS, allow: 'GET, HEAD, PATCH', 'content-type': 'text/plain' });
      res.end('method not allowed\n');
    };
    run().catch((err: unknown) => {
      // A client that went away mid-transfer is not a server fault.
      if (req.destroyed || res.destroyed) log.debug({ err }, 'blob transfer ended by the client');
      else log.error({ err }, 'blob request failed');
      refuse(res, 'INTERNAL', 'the blob request failed on the server');
    });
    return true;
  };
}
