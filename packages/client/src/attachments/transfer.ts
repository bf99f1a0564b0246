/**
 * Moving blobs over the blob HTTP API (docs/protocol.md §16.5) with `fetch`, on Node and in
 * browsers: `uploadBlob` PATCHes the sealed blob in windows of at most `UPLOAD_WINDOW` bytes and,
 * when a request fails, asks `HEAD` how much the server kept and re-sends from there;
 * `downloadBlob` streams a GET through `openAttachment` into a sink, committing it only once the
 * last chunk, the padding and the digest verified; when the connection breaks mid-body it asks
 * for the rest with `Range: bytes=<received>-` and goes on where it stopped.
 */
import {
  type AttachmentOpenParams,
  BLOB_PATH,
  type BlobSlot,
  type CryptoProvider,
  isProtocolError,
  openAttachment,
  readBlobErrorBody,
  UPLOAD_CONTENT_TYPE,
  UPLOAD_OFFSET_HEADER,
} from '@parley/protocol';
import { ClientError } from '../errors.ts';
import type { AttachmentSink } from './source.ts';

/** Bytes one PATCH carries (the server takes up to 32 MiB; smaller loses less on a retry). */
export const UPLOAD_WINDOW = 4 * 1024 * 1024;
/** Failed requests in a row an upload survives before it gives up. */
const MAX_RETRIES = 4;

/** Progress of a transfer: bytes done of the total. */
export type Progress = (done: number, total: number) => void;

/**
 * The blob API URL of blob `id` on `server` (as stored in the profile): a `ws://`/`wss://`
 * address (accepted for the relay) becomes `http://`/`https://`, keeping the TLS choice.
 */
export const blobUrl = (server: string, id: string): string =>
  `${server.replace(/\/+$/, '').replace(/^ws(s?):/i, (_m, s: string) => `http${s.toLowerCase()}:`)}${BLOB_PATH}${id}`;

async function refusal(res: Response): Promise<string> {
  try {
    const body = readBlobErrorBody(await res.json());
    return body === undefined ? `HTTP ${res.status}` : `${body.code}: ${body.message}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/**
 * The server's offset for a slot kept from an earlier run, or undefined when the server no
 * longer has it (collected, expired: 404) or refuses the token (403). Other failures reject.
 */
export async function storedUploadOffset(
  server: string,
  slot: BlobSlot,
  signal?: AbortSignal,
): Promise<number | undefined> {
  const res = await fetch(blobUrl(server, slot.id), {
    method: 'HEAD',
    headers: { authorization: `Bearer ${slot.token}` },
    ...(signal ? { signal } : {}),
  });
  if (res.status === 404 || res.status === 403) return undefined;
  const offset = Number(res.headers.get(UPLOAD_OFFSET_HEADER));
  if (!res.ok || !Number.isSafeInteger(offset)) {
    throw new ClientError('UPLOAD_FAILED', `the server did not say how much of the upload it has (HTTP ${res.status})`);
  }
  return offset;
}

/** The server's offset for `slot` (HEAD). */
async function serverOffset(server: string, slot: BlobSlot, signal?: AbortSignal): Promise<number> {
  const res = await fetch(blobUrl(server, slot.id), {
    method: 'HEAD',
    headers: { authorization: `Bearer ${slot.token}` },
    ...(signal ? { signal } : {}),
  });
  const offset = Number(res.headers.get(UPLOAD_OFFSET_HEADER));
  if (!res.ok || !Number.isSafeInteger(offset)) {
    throw new ClientError('UPLOAD_FAILED', `the server did not say how much of the upload it has (HTTP ${res.status})`);
  }
  return offset;
}

/**
 * Uploads `pieces` (the sealed blob, `size` bytes) to `slot`, starting at `from` (what the
 * server already holds: those bytes are read from `pieces` and skipped). Resolves once the
 * server acknowledged the last byte; rejects with `UPLOAD_FAILED` saying why.
 */
export async function uploadBlob(options: {
  server: string;
  slot: BlobSlot;
  size: number;
  pieces: AsyncIterable<Uint8Array>;
  from?: number;
  onProgress?: Progress;
  /** Called with the server's offset after each acknowledged PATCH (to persist it). */
  onAcknowledged?: (offset: number) => void;
  signal?: AbortSignal;
}): Promise<void> {
  const { server, slot, size, signal } = options;
  let acked = options.from ?? 0;
  let windowStart = 0;
  let window = new Uint8Array(Math.min(UPLOAD_WINDOW, Math.max(1, size)));
  let filled = 0;

  const send = async (): Promise<void> => {
    // The window covers [windowStart, windowStart + filled); the server holds [0, acked).
    for (let failures = 0; acked < windowStart + filled; ) {
      const body = window.subarray(acked - windowStart, filled);
      let res: Response | undefined;
      try {
        res = await fetch(blobUrl(server, slot.id), {
          method: 'PATCH',
          headers: {
            authorization: `Bearer ${slot.token}`,
            [UPLOAD_OFFSET_HEADER]: String(acked),
            'content-type': UPLOAD_CONTENT_TYPE,
          },
          body: body as BodyInit,
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        if (signal?.aborted) throw err;
      }
      if (res?.status === 204) {
        acked = Number(res.headers.get(UPLOAD_OFFSET_HEADER));
        options.onAcknowledged?.(acked);
        options.onProgress?.(acked, size);
        failures = 0;
        continue;
      }
      const why = res === undefined ? 'the connection failed' : await refusal(res);
      if (res !== undefined && res.status !== 409 && res.status < 500) {
        throw new ClientError('UPLOAD_FAILED', `the server refused the upload (${why})`);
      }
      if (++failures > MAX_RETRIES) throw new ClientError('UPLOAD_FAILED', `the upload kept failing (${why})`);
      // Ask the server what it kept, and go on from there.
      acked = await serverOffset(server, slot, signal).catch(() => acked);
      if (acked < windowStart) {
        throw new ClientError('UPLOAD_FAILED', 'the server lost acknowledged bytes of this upload');
      }
    }
  };

  let position = 0;
  for await (const piece of options.pieces) {
    let at = 0;
    while (at < piece.length) {
      const take = Math.min(window.length - filled, piece.length - at);
      // Bytes the server already has are read (the blob is deterministic) and skipped.
      if (position + take <= acked && filled === 0) {
        position += take;
        at += take;
        windowStart = position;
        continue;
      }
      window.set(piece.subarray(at, at + take), filled);
      filled += take;
      at += take;
      position += take;
      if (filled === window.length) {
        await send();
        windowStart += filled;
        filled = 0;
        window = new Uint8Array(window.length);
      }
    }
  }
  if (filled > 0 || acked < size) await send();
  if (acked !== size) throw new ClientError('UPLOAD_FAILED', `the server holds ${acked} of ${size} bytes`);
}

/**
 * The blob's bytes from the response `first`, continued after a broken connection by ranged
 * GETs from the byte after the last one received (`MAX_RETRIES` breaks in a row at most). A
 * server that ignores the range (200) is read from the start with the bytes already received
 * skipped. `ATTACHMENT_GONE` when the blob disappears between two requests.
 */
async function* resumingBody(
  url: string,
  first: Response,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  let received = 0;
  let res = first;
  let skip = 0;
  for (let failures = 0; ; ) {
    try {
      for await (const piece of (res.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
        let bytes = piece;
        if (skip > 0) {
          const drop = Math.min(skip, bytes.length);
          skip -= drop;
          bytes = bytes.subarray(drop);
          if (bytes.length === 0) continue;
        }
        received += bytes.length;
        failures = 0;
        yield bytes;
      }
      return;
    } catch (err) {
      if (signal?.aborted) throw err;
      if (++failures > MAX_RETRIES) {
        throw new ClientError('SERVER_UNREACHABLE', 'the attachment download kept breaking off');
      }
    }
    let next: Response;
    try {
      next = await fetch(url, { headers: { range: `bytes=${received}-` }, ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ClientError('SERVER_UNREACHABLE', 'the attachment download broke off and could not be resumed');
    }
    if (next.status === 404) {
      await next.body?.cancel();
      throw new ClientError('ATTACHMENT_GONE', 'the server no longer has this attachment (expired or never uploaded)');
    }
    const at = /^bytes (\d+)-/.exec(next.headers.get('content-range') ?? '')?.[1];
    if (next.status === 206 && at !== undefined && Number(at) === received) skip = 0;
    else if (next.status === 200) skip = received;
    else {
      await next.body?.cancel();
      throw new ClientError('SERVER_UNREACHABLE', `the attachment download could not be resumed (HTTP ${next.status})`);
    }
    res = next;
  }
}

/**
 * Downloads blob `id` into `sink`, decrypting and verifying it; resolves with where the sink
 * put the file. `ATTACHMENT_GONE` when the server no longer has it; `ATTACHMENT_CORRUPT` when any
 * check fails (the sink is aborted: nothing is left under the final name).
 */
export async function downloadBlob(options: {
  server: string;
  id: string;
  provider: CryptoProvider;
  params: AttachmentOpenParams;
  sink: AttachmentSink;
  onProgress?: Progress;
  signal?: AbortSignal;
}): Promise<string | undefined> {
  const { sink } = options;
  const url = blobUrl(options.server, options.id);
  const res = await fetch(url, options.signal ? { signal: options.signal } : {});
  if (res.status === 404) {
    await res.body?.cancel();
    throw new ClientError('ATTACHMENT_GONE', 'the server no longer has this attachment (expired or never uploaded)');
  }
  if (!res.ok || res.body === null) {
    throw new ClientError('SERVER_UNREACHABLE', `the attachment could not be downloaded (${await refusal(res)})`);
  }
  let done = 0;
  const body = resumingBody(url, res, options.signal);
  try {
    for await (const chunk of openAttachment(options.provider, options.params, body)) {
      await sink.write(chunk);
      done += chunk.length;
      options.onProgress?.(done, options.params.size);
    }
  } catch (err) {
    await sink.abort();
    if (isProtocolError(err, 'ATTACHMENT_CORRUPT')) {
      throw new ClientError('ATTACHMENT_CORRUPT', 'the attachment was altered or damaged; nothing was saved');
    }
    throw err;
  }
  return sink.commit();
}
