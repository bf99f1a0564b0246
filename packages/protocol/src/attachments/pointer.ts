/**
 * The attachment pointer: everything a receiver needs to fetch, verify and decrypt one
 * attachment. It travels only inside an end-to-end encrypted message (docs/protocol.md §16.3),
 * so the key, the real size, the name and the inline thumbnail are encrypted by the message's
 * own session; the server only ever sees the blob id, once, in the download request.
 *
 *   u8 version (1) ‖ blob id (16) ‖ key (32) ‖ digest (32) ‖ u64 blob size ‖ u64 size
 *   ‖ u8 n ‖ content type (n ASCII) ‖ u16 n ‖ file name (n UTF-8) ‖ u8 flags
 *   ‖ [u32 width ‖ u32 height]       if flags & 1
 *   ‖ [u32 duration in ms]           if flags & 2
 *   ‖ [u8 n ‖ thumbnail type (n) ‖ u32 m ‖ thumbnail (m ≤ 65,536)]  if flags & 4
 *
 * Integers are big-endian. The decoder bounds every length, rejects unknown flags, trailing
 * bytes, a blob size that is not the Padmé size of the real size, and re-sanitises the name.
 */
import { assertBytes } from '../bytes.ts';
import { AES_256_KEY_LENGTH } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import { FILE_NAME_MAX_BYTES, sanitizeFileName } from './file-name.ts';
import { ATTACHMENT_FORMAT_MAX_SIZE, attachmentBlobSize } from './stream-aead.ts';

/** The pointer version this build writes and reads. */
export const ATTACHMENT_POINTER_VERSION = 1;
/** Length of a blob id (128 random bits, chosen by the server). */
export const BLOB_ID_LENGTH = 16;
/** Largest inline thumbnail. */
export const THUMBNAIL_MAX_BYTES = 64 * 1024;
const CONTENT_TYPE_MAX = 127;
const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

/** An inline preview image. */
export interface AttachmentThumbnail {
  readonly contentType: string;
  readonly data: Uint8Array;
}

/** A decoded attachment pointer (plain data). */
export interface AttachmentPointer {
  readonly version: 1;
  readonly blobId: Uint8Array;
  readonly key: Uint8Array;
  readonly digest: Uint8Array;
  readonly blobSize: number;
  readonly size: number;
  /** Lower-case MIME type, `application/octet-stream` when unknown. */
  readonly contentType: string;
  /** The sender's file name, sanitised (`sanitizeFileName`). */
  readonly fileName: string;
  readonly width?: number;
  readonly height?: number;
  readonly durationMs?: number;
  readonly thumbnail?: AttachmentThumbnail;
}

const malformed = (what: string): ProtocolError =>
  new ProtocolError('MALFORMED_MESSAGE', `attachment pointer: ${what}`);

function checkContentType(name: string, type: string): void {
  if (type.length > CONTENT_TYPE_MAX || !CONTENT_TYPE.test(type)) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} to be a lower-case MIME type`);
  }
}

function checkU32(name: string, n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 0xffffffff)) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} to be a 32-bit unsigned integer`);
  }
}

/** Encodes a pointer; throws `INVALID_ARGUMENT` for any field out of bounds. */
export function encodeAttachmentPointer(p: AttachmentPointer): Uint8Array {
  assertBytes('blobId', p.blobId, BLOB_ID_LENGTH);
  assertBytes('key', p.key, AES_256_KEY_LENGTH);
  assertBytes('digest', p.digest, 32);
  if (!Number.isSafeInteger(p.size) || p.size < 0 || p.size > ATTACHMENT_FORMAT_MAX_SIZE) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected size within the attachment format limit');
  }
  if (p.blobSize !== attachmentBlobSize(p.size)) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected blobSize to be the padded size of size');
  }
  checkContentType('contentType', p.contentType);
  if ((p.width === undefined) !== (p.height === undefined)) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected width and height together');
  }
  checkU32('width', p.width);
  checkU32('height', p.height);
  checkU32('durationMs', p.durationMs);
  const name = new TextEncoder().encode(sanitizeFileName(p.fileName));
  const type = new TextEncoder().encode(p.contentType);
  let thumbType = new Uint8Array(0);
  if (p.thumbnail !== undefined) {
    checkContentType('thumbnail contentType', p.thumbnail.contentType);
    assertBytes('thumbnail', p.thumbnail.data);
    if (p.thumbnail.data.length > THUMBNAIL_MAX_BYTES) {
      throw new ProtocolError('INVALID_ARGUMENT', `expected thumbnail of at most ${THUMBNAIL_MAX_BYTES} bytes`);
    }
    thumbType = new TextEncoder().encode(p.thumbnail.contentType);
  }
  const flags = (p.width !== undefined ? 1 : 0) | (p.durationMs !== undefined ? 2 : 0) | (p.thumbnail ? 4 : 0);
  const length =
    1 +
    16 +
    32 +
    32 +
    8 +
    8 +
    1 +
    type.length +
    2 +
    name.length +
    1 +
    (flags & 1 ? 8 : 0) +
    (flags & 2 ? 4 : 0) +
    (p.thumbnail ? 1 + thumbType.length + 4 + p.thumbnail.data.length : 0);
  const out = new Uint8Array(length);
  const view = new DataView(out.buffer);
  let at = 0;
  const put = (bytes: Uint8Array) => {
    out.set(bytes, at);
    at += bytes.length;
  };
  const u64 = (n: number) => {
    view.setUint32(at, Math.floor(n / 2 ** 32));
    view.setUint32(at + 4, n % 2 ** 32);
    at += 8;
  };
  out[at++] = ATTACHMENT_POINTER_VERSION;
  put(p.blobId);
  put(p.key);
  put(p.digest);
  u64(p.blobSize);
  u64(p.size);
  out[at++] = type.length;
  put(type);
  view.setUint16(at, name.length);
  at += 2;
  put(name);
  out[at++] = flags;
  if (p.width !== undefined && p.height !== undefined) {
    view.setUint32(at, p.width);
    view.setUint32(at + 4, p.height);
    at += 8;
  }
  if (p.durationMs !== undefined) {
    view.setUint32(at, p.durationMs);
    at += 4;
  }
  if (p.thumbnail !== undefined) {
    out[at++] = thumbType.length;
    put(thumbType);
    view.setUint32(at, p.thumbnail.data.length);
    at += 4;
    put(p.thumbnail.data);
  }
  return out;
}

/** Decodes a pointer; throws `UNKNOWN_VERSION` or `MALFORMED_MESSAGE`. */
export function decodeAttachmentPointer(bytes: Uint8Array): AttachmentPointer {
  assertBytes('attachment pointer', bytes);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const need = (n: number) => {
    if (at + n > bytes.length) throw malformed('truncated');
  };
  const take = (n: number) => {
    need(n);
    const out = bytes.slice(at, at + n);
    at += n;
    return out;
  };
  const u8 = () => {
    need(1);
    return bytes[at++] as number;
  };
  const u16 = () => {
    need(2);
    const n = view.getUint16(at);
    at += 2;
    return n;
  };
  const u32 = () => {
    need(4);
    const n = view.getUint32(at);
    at += 4;
    return n;
  };
  const u64 = () => {
    const n = u32() * 2 ** 32 + u32();
    if (!Number.isSafeInteger(n)) throw malformed('size out of range');
    return n;
  };
  const text = (n: number, what: string) => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(take(n));
    } catch {
      throw malformed(`${what} is not UTF-8`);
    }
  };
  const mime = (what: string) => {
    const type = text(u8(), what);
    if (type.length > CONTENT_TYPE_MAX || !CONTENT_TYPE.test(type)) throw malformed(`${what} is not a MIME type`);
    return type;
  };
  const version = u8();
  if (version !== ATTACHMENT_POINTER_VERSION) {
    throw new ProtocolError('UNKNOWN_VERSION', `attachment pointer version ${version} is not supported`);
  }
  const blobId = take(BLOB_ID_LENGTH);
  const key = take(AES_256_KEY_LENGTH);
  const digest = take(32);
  const blobSize = u64();
  const size = u64();
  if (size > ATTACHMENT_FORMAT_MAX_SIZE || blobSize !== attachmentBlobSize(size)) {
    throw malformed('blob size is not the padded size of the real size');
  }
  const contentType = mime('content type');
  const nameLength = u16();
  if (nameLength > FILE_NAME_MAX_BYTES * 4) throw malformed('file name too long');
  const fileName = sanitizeFileName(text(nameLength, 'file name'));
  const flags = u8();
  if ((flags & ~7) !== 0) throw malformed('unknown flags');
  let pointer: AttachmentPointer = { version: 1, blobId, key, digest, blobSize, size, contentType, fileName };
  if (flags & 1) pointer = { ...pointer, width: u32(), height: u32() };
  if (flags & 2) pointer = { ...pointer, durationMs: u32() };
  if (flags & 4) {
    const thumbType = mime('thumbnail type');
    const length = u32();
    if (length > THUMBNAIL_MAX_BYTES) throw malformed('thumbnail too large');
    pointer = { ...pointer, thumbnail: { contentType: thumbType, data: take(length) } };
  }
  if (at !== bytes.length) throw malformed('trailing bytes');
  return pointer;
}
