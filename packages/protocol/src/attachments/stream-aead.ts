/**
 * Chunked streaming AEAD for attachments: the STREAM construction of Hoang, Reyhanitabar,
 * Rogaway and Vizár ("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance",
 * CRYPTO 2015, §7) over platform AES-256-GCM, as docs/protocol.md §16 writes down.
 *
 * The blob is `header ‖ C_0 ‖ … ‖ C_{n-1} ‖ zero padding`, where the 8-byte header is a version
 * byte and a 7-byte random nonce prefix P, and
 *
 *   C_i = AES-256-GCM(K, nonce = P ‖ u32be(i) ‖ last_i, plaintext chunk i, aad = header)
 *
 * with `last_i` = 0x01 for the final chunk and 0x00 for the others. Each plaintext chunk is
 * `ATTACHMENT_CHUNK_SIZE` bytes except the last, which holds the rest (0 bytes for an empty
 * file, so every blob has at least one chunk). Binding the index defeats reordering and
 * dropping; the last flag defeats truncation at a chunk boundary; the per-attachment key
 * defeats chunks swapped from another file; the exact expected length (from the pointer's real
 * size) defeats appended data; the padding must be zeros and the SHA-256 of the whole blob must
 * match the pointer's. The blob is padded with zeros to the Padmé length of the unpadded blob
 * (`padme.ts`), so the server learns the size bucket, not the size.
 *
 * Encryption is deterministic given (K, P): re-encrypting after a crash yields the same bytes,
 * which is what lets an upload resume from the server's acknowledged offset.
 *
 * Memory is O(chunk): the functions consume and produce async iterables and never hold more than
 * one chunk (plus one input piece) at a time.
 */
import { assertBytes, constantTimeEqual } from '../bytes.ts';
import { AES_256_KEY_LENGTH, AES_GCM_TAG_LENGTH, type CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import type { RandomSource } from '../random.ts';
import { createSha256Hasher } from './hasher.ts';
import { padme } from './padme.ts';

/** Plaintext bytes per chunk (64 KiB). */
export const ATTACHMENT_CHUNK_SIZE = 64 * 1024;
/** The blob header: version byte ‖ 7-byte nonce prefix. */
export const ATTACHMENT_HEADER_LENGTH = 8;
/** The nonce prefix's length (the rest of the 12-byte GCM nonce is index and last flag). */
export const ATTACHMENT_NONCE_PREFIX_LENGTH = 7;
/** The only blob version this build writes and reads. */
export const ATTACHMENT_BLOB_VERSION = 1;
/** The largest plaintext the format allows (u32 chunk index); servers set lower limits. */
export const ATTACHMENT_FORMAT_MAX_SIZE = 2 ** 40;

/** The secrets one attachment is sealed under: a fresh key and nonce prefix. */
export interface AttachmentSecrets {
  readonly key: Uint8Array;
  readonly noncePrefix: Uint8Array;
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > ATTACHMENT_FORMAT_MAX_SIZE) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected size to be a non-negative integer within the format limit');
  }
}

/** Number of chunks a plaintext of `size` bytes is cut into (at least one). */
export function attachmentChunkCount(size: number): number {
  checkSize(size);
  return Math.max(1, Math.ceil(size / ATTACHMENT_CHUNK_SIZE));
}

/** Length of the unpadded blob (header and every chunk with its tag). */
export function attachmentCiphertextLength(size: number): number {
  return ATTACHMENT_HEADER_LENGTH + size + attachmentChunkCount(size) * AES_GCM_TAG_LENGTH;
}

/** Length of the stored blob: the Padmé length of the unpadded blob. */
export function attachmentBlobSize(size: number): number {
  return padme(attachmentCiphertextLength(size));
}

/** Fresh secrets for one attachment from the injected randomness: never reuse them for another. */
export function generateAttachmentSecrets(random: RandomSource): AttachmentSecrets {
  return { key: random(AES_256_KEY_LENGTH), noncePrefix: random(ATTACHMENT_NONCE_PREFIX_LENGTH) };
}

function checkSecrets(secrets: AttachmentSecrets): void {
  assertBytes('attachment key', secrets.key, AES_256_KEY_LENGTH);
  assertBytes('attachment nonce prefix', secrets.noncePrefix, ATTACHMENT_NONCE_PREFIX_LENGTH);
}

function headerOf(secrets: AttachmentSecrets): Uint8Array {
  const header = new Uint8Array(ATTACHMENT_HEADER_LENGTH);
  header[0] = ATTACHMENT_BLOB_VERSION;
  header.set(secrets.noncePrefix, 1);
  return header;
}

/** The GCM nonce of chunk `index`: prefix ‖ u32be(index) ‖ last flag (STREAM §7). */
export function attachmentChunkNonce(noncePrefix: Uint8Array, index: number, last: boolean): Uint8Array {
  assertBytes('attachment nonce prefix', noncePrefix, ATTACHMENT_NONCE_PREFIX_LENGTH);
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected chunk index to be a 32-bit unsigned integer');
  }
  const nonce = new Uint8Array(12);
  nonce.set(noncePrefix, 0);
  new DataView(nonce.buffer).setUint32(ATTACHMENT_NONCE_PREFIX_LENGTH, index, false);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/**
 * Cuts an async iterable of arbitrary pieces into chunks of exactly `chunkSize` bytes (the last
 * may be shorter, and is empty only if the whole input is). Holds at most one chunk.
 */
export async function* rechunk(source: AsyncIterable<Uint8Array>, chunkSize: number): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(chunkSize);
  let filled = 0;
  for await (const piece of source) {
    let at = 0;
    while (at < piece.length) {
      const take = Math.min(chunkSize - filled, piece.length - at);
      buffer.set(piece.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === chunkSize) {
        yield buffer;
        buffer = new Uint8Array(chunkSize);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}

/** A sealing in progress: the blob's pieces, and its digest once they have all been read. */
export interface SealedAttachment {
  /** Bytes of the stored blob, `blobSize` of them in all. */
  readonly blobSize: number;
  /** The blob, piece by piece: the header, each chunk, then the padding. Iterate once. */
  readonly pieces: AsyncIterable<Uint8Array>;
  /** SHA-256 of the whole blob; throws `INTERNAL` before `pieces` has been read to the end. */
  digest(): Uint8Array;
}

/**
 * Encrypts a plaintext of exactly `size` bytes from `source` into a blob (see the module doc).
 * The iteration throws `INVALID_ARGUMENT` if the source yields more or fewer bytes than `size`.
 */
export function sealAttachment(
  crypto: CryptoProvider,
  secrets: AttachmentSecrets,
  size: number,
  source: AsyncIterable<Uint8Array>,
): SealedAttachment {
  checkSecrets(secrets);
  const count = attachmentChunkCount(size);
  const blobSize = attachmentBlobSize(size);
  const hasher = createSha256Hasher(crypto);
  let digest: Uint8Array | undefined;
  const key = secrets.key.slice();
  const prefix = secrets.noncePrefix.slice();
  async function* pieces(): AsyncGenerator<Uint8Array> {
    const header = headerOf({ key, noncePrefix: prefix });
    hasher.update(header);
    yield header;
    let written = header.length;
    let index = 0;
    let seen = 0;
    const emit = async (chunk: Uint8Array, last: boolean): Promise<Uint8Array> => {
      const sealed = await crypto.aesGcmEncrypt(key, attachmentChunkNonce(prefix, index, last), chunk, header);
      index++;
      written += sealed.length;
      hasher.update(sealed);
      return sealed;
    };
    for await (const chunk of rechunk(source, ATTACHMENT_CHUNK_SIZE)) {
      seen += chunk.length;
      if (seen > size)
        throw new ProtocolError('INVALID_ARGUMENT', 'the attachment source is longer than its declared size');
      yield await emit(chunk, index === count - 1);
    }
    if (seen !== size)
      throw new ProtocolError('INVALID_ARGUMENT', 'the attachment source is shorter than its declared size');
    if (index === 0) yield await emit(new Uint8Array(0), true);
    for (let left = blobSize - written; left > 0; ) {
      const zeros = new Uint8Array(Math.min(left, ATTACHMENT_CHUNK_SIZE));
      hasher.update(zeros);
      left -= zeros.length;
      yield zeros;
    }
    digest = hasher.digest();
  }
  return {
    blobSize,
    pieces: pieces(),
    digest() {
      if (digest === undefined)
        throw new ProtocolError('INTERNAL', 'the attachment digest was read before the blob ended');
      return digest.slice();
    },
  };
}

/** What the receiver knows from the pointer to open a blob. */
export interface AttachmentOpenParams extends Pick<AttachmentSecrets, 'key'> {
  /** Real (plaintext) size. */
  readonly size: number;
  /** SHA-256 of the whole blob. */
  readonly digest: Uint8Array;
  /** Stored blob size; must equal `attachmentBlobSize(size)`. */
  readonly blobSize: number;
}

const corrupt = (what: string): ProtocolError => new ProtocolError('ATTACHMENT_CORRUPT', `attachment blob ${what}`);

/**
 * Decrypts and verifies a blob streamed from `source`, yielding the plaintext chunk by chunk.
 * Throws `ATTACHMENT_CORRUPT` on any failed check (see the module doc). The final plaintext
 * chunk is yielded only after the padding and the digest have been checked, so a consumer that
 * sees the iteration end normally has a verified file; on a throw it must discard what it wrote.
 */
export async function* openAttachment(
  crypto: CryptoProvider,
  params: AttachmentOpenParams,
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  assertBytes('attachment key', params.key, AES_256_KEY_LENGTH);
  assertBytes('attachment digest', params.digest, 32);
  const count = attachmentChunkCount(params.size);
  if (params.blobSize !== attachmentBlobSize(params.size)) throw corrupt('size does not match its real size');
  const key = params.key.slice();
  const hasher = createSha256Hasher(crypto);
  const sealedChunk = ATTACHMENT_CHUNK_SIZE + AES_GCM_TAG_LENGTH;
  const lastLength = params.size - (count - 1) * ATTACHMENT_CHUNK_SIZE + AES_GCM_TAG_LENGTH;
  const paddingLength = params.blobSize - attachmentCiphertextLength(params.size);

  const reader = exactReader(source, (piece) => hasher.update(piece));
  const header = await reader.read(ATTACHMENT_HEADER_LENGTH);
  if (header.length < ATTACHMENT_HEADER_LENGTH) throw corrupt('is truncated');
  if (header[0] !== ATTACHMENT_BLOB_VERSION) throw corrupt('has an unknown version');
  let held: Uint8Array | undefined;
  for (let index = 0; index < count; index++) {
    const last = index === count - 1;
    const want = last ? lastLength : sealedChunk;
    const sealed = await reader.read(want);
    if (sealed.length < want) throw corrupt('is truncated');
    const plain = await crypto.aesGcmDecrypt(
      key,
      attachmentChunkNonce(header.subarray(1), index, last),
      sealed,
      header,
    );
    if (plain === null) throw corrupt(`chunk ${index} did not authenticate`);
    if (last) held = plain;
    else yield plain;
  }
  let padding = 0;
  for (;;) {
    const rest = await reader.read(ATTACHMENT_CHUNK_SIZE);
    if (rest.length === 0) break;
    padding += rest.length;
    if (padding > paddingLength) throw corrupt('is longer than its size');
    for (const b of rest) if (b !== 0) throw corrupt('has non-zero padding');
  }
  if (padding < paddingLength) throw corrupt('is truncated');
  const digest = hasher.digest();
  if (!constantTimeEqual(digest, params.digest)) throw corrupt('digest does not match');
  if (held !== undefined && held.length > 0) yield held;
}

/**
 * Reads exactly `n` bytes at a time from an async iterable of arbitrary pieces (fewer only at
 * the end), copying each byte once; `onPiece` sees every piece as it arrives.
 */
function exactReader(source: AsyncIterable<Uint8Array>, onPiece: (piece: Uint8Array) => void) {
  const it = source[Symbol.asyncIterator]();
  let current: Uint8Array = new Uint8Array(0);
  let done = false;
  return {
    async read(n: number): Promise<Uint8Array> {
      const out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        if (current.length === 0) {
          if (done) break;
          const next = await it.next();
          if (next.done === true) {
            done = true;
            break;
          }
          onPiece(next.value);
          current = next.value;
          continue;
        }
        const take = Math.min(n - filled, current.length);
        out.set(current.subarray(0, take), filled);
        current = current.subarray(take);
        filled += take;
      }
      return filled === n ? out : out.subarray(0, filled);
    },
  };
}
