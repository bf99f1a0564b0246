/**
 * Known answers for attachments (docs/protocol.md §16): the sealed blob of a short file in full,
 * the digest and every chunk tag of a three-chunk file (its blob is too long to freeze whole),
 * an empty file's blob, and one encoded pointer with every optional field.
 */
import {
  ATTACHMENT_CHUNK_SIZE,
  ATTACHMENT_HEADER_LENGTH,
  attachmentBlobSize,
  type CryptoProvider,
  encodeAttachmentPointer,
  sealAttachment,
} from '../../src/index.ts';
import { fixedBytes, fromHex, type Hex, toHex } from './kit.ts';

export const about =
  'Attachment blobs (STREAM over AES-256-GCM, Padmé padding, SHA-256 digest) and the pointer encoding (docs/protocol.md §16).';

export interface AttachmentInputs {
  readonly key: Hex;
  readonly noncePrefix: Hex;
  readonly shortText: string;
  /** The long file is this many bytes, byte i = i mod 251. */
  readonly longSize: number;
  readonly blobId: Hex;
  readonly thumbnail: Hex;
}

export function makeInputs(): AttachmentInputs {
  return {
    key: fixedBytes('attachments/key', 32),
    noncePrefix: fixedBytes('attachments/prefix', 7),
    shortText: 'hello, attachment',
    longSize: 2 * ATTACHMENT_CHUNK_SIZE + 1000,
    blobId: fixedBytes('attachments/blob-id', 16),
    thumbnail: fixedBytes('attachments/thumbnail', 24),
  };
}

async function sealed(provider: CryptoProvider, inputs: AttachmentInputs, plain: Uint8Array) {
  const secrets = { key: fromHex(inputs.key), noncePrefix: fromHex(inputs.noncePrefix) };
  const s = sealAttachment(
    provider,
    secrets,
    plain.length,
    (async function* () {
      yield plain;
    })(),
  );
  const parts: Uint8Array[] = [];
  for await (const p of s.pieces) parts.push(p);
  const blob = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    blob.set(p, at);
    at += p.length;
  }
  return { blob, digest: s.digest() };
}

export async function build(provider: CryptoProvider, inputs: AttachmentInputs): Promise<Record<string, string>> {
  const short = await sealed(provider, inputs, new TextEncoder().encode(inputs.shortText));
  const empty = await sealed(provider, inputs, new Uint8Array(0));
  const longPlain = new Uint8Array(inputs.longSize).map((_, i) => i % 251);
  const long = await sealed(provider, inputs, longPlain);
  const sealedChunk = ATTACHMENT_CHUNK_SIZE + 16;
  const tagEnd = (i: number, length: number) => ATTACHMENT_HEADER_LENGTH + i * sealedChunk + length;
  const pointer = encodeAttachmentPointer({
    version: 1,
    blobId: fromHex(inputs.blobId),
    key: fromHex(inputs.key),
    digest: long.digest,
    size: inputs.longSize,
    blobSize: attachmentBlobSize(inputs.longSize),
    contentType: 'image/jpeg',
    fileName: 'holiday photo.jpg',
    width: 4032,
    height: 3024,
    durationMs: 1500,
    thumbnail: { contentType: 'image/webp', data: fromHex(inputs.thumbnail) },
  });
  return {
    shortBlob: toHex(short.blob),
    shortDigest: toHex(short.digest),
    emptyBlob: toHex(empty.blob),
    emptyDigest: toHex(empty.digest),
    longBlobSize: String(long.blob.length),
    longDigest: toHex(long.digest),
    longTag0: toHex(long.blob.subarray(tagEnd(0, sealedChunk) - 16, tagEnd(0, sealedChunk))),
    longTag1: toHex(long.blob.subarray(tagEnd(1, sealedChunk) - 16, tagEnd(1, sealedChunk))),
    longTag2: toHex(long.blob.subarray(tagEnd(2, 1016) - 16, tagEnd(2, 1016))),
    pointer: toHex(pointer),
  };
}
