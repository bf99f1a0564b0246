/**
 * Sending a file (docs/protocol.md §16): fresh secrets, an upload slot from the relay, the
 * sealed blob streamed up (`transfer.ts`), then the pointer queued as an attachment message
 * through the same outbox as text, so it is encrypted to every device of the recipient and of
 * this account like any message.
 */
import {
  attachmentBlobSize,
  BLOB_ID_LENGTH,
  type CryptoProvider,
  encodeAttachmentPointer,
  fromBase64Url,
  generateAttachmentSecrets,
  isProtocolError,
  type RandomSource,
  sanitizeFileName,
  sealAttachment,
} from '@parley/protocol';
import { type AttachmentContent, attachmentFallbackText, attachmentField } from '../content.ts';
import { ClientError } from '../errors.ts';
import { type RelayLink, requireConnected } from '../relay/relay-link.ts';
import type { AttachmentSource } from './source.ts';
import { type Progress, uploadBlob } from './transfer.ts';

/** Options of `sendFile`. */
export interface SendFileOptions {
  readonly caption?: string;
  /** Pixel size of an image or video, for the receiver's layout (both or neither). */
  readonly width?: number;
  readonly height?: number;
  /** Length of a voice note or video. */
  readonly durationMs?: number;
  /**
   * An inline preview (at most `THUMBNAIL_MAX_BYTES`, 64 KiB): it travels inside the encrypted
   * message, so the receiver shows it before downloading the file.
   */
  readonly thumbnail?: { readonly contentType: string; readonly data: Uint8Array };
  /** Upload progress in blob bytes. */
  readonly onProgress?: Progress;
  readonly signal?: AbortSignal;
}

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

/** The line a conversation shows for an attachment: name, size and caption. */
export function attachmentLine(fileName: string, size: number, caption: string | undefined): string {
  const line = `[attachment] ${fileName} (${size} bytes)`;
  return caption === undefined || caption === '' ? line : `${line} ${caption}`;
}

/** What sending needs from the client. */
export interface SendFileDeps {
  readonly provider: CryptoProvider;
  readonly random: RandomSource;
  readonly clock: () => number;
  readonly server: string;
  link(): RelayLink | undefined;
  newId(): string;
}

/** Uploads `source` and returns the attachment content to queue, and its history line. */
export async function prepareAttachment(
  deps: SendFileDeps,
  source: AttachmentSource,
  options: SendFileOptions = {},
): Promise<{ content: AttachmentContent; line: string }> {
  const fileName = sanitizeFileName(source.name);
  const type = source.contentType?.toLowerCase();
  const blobSize = attachmentBlobSize(source.size);
  const pointerOf = (blobId: Uint8Array, key: Uint8Array, digest: Uint8Array) =>
    encodeAttachmentPointer({
      version: 1,
      blobId,
      key,
      digest,
      size: source.size,
      blobSize,
      contentType: type !== undefined && MIME.test(type) && type.length <= 127 ? type : 'application/octet-stream',
      fileName,
      ...(options.width === undefined ? {} : { width: options.width }),
      ...(options.height === undefined ? {} : { height: options.height }),
      ...(options.durationMs === undefined ? {} : { durationMs: options.durationMs }),
      ...(options.thumbnail === undefined ? {} : { thumbnail: options.thumbnail }),
    });
  // The metadata is checked before anything is uploaded (a bad thumbnail must not cost an upload).
  try {
    pointerOf(new Uint8Array(BLOB_ID_LENGTH), new Uint8Array(32), new Uint8Array(32));
  } catch (err) {
    if (isProtocolError(err, 'INVALID_ARGUMENT')) throw new ClientError('INVALID_ARGUMENT', err.message);
    throw err;
  }
  const secrets = generateAttachmentSecrets(deps.random);
  const slot = await requireConnected(deps.link()).request('blob-slot', { size: blobSize });
  const sealed = sealAttachment(deps.provider, secrets, source.size, source.stream());
  await uploadBlob({
    server: deps.server,
    slot,
    size: blobSize,
    pieces: sealed.pieces,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const blobId = fromBase64Url('blob id', slot.id);
  if (blobId.length !== BLOB_ID_LENGTH)
    throw new ClientError('UPLOAD_FAILED', 'the server answered a malformed blob id');
  const pointer = pointerOf(blobId, secrets.key, sealed.digest());
  const content: AttachmentContent = {
    v: 1,
    id: deps.newId(),
    ts: deps.clock(),
    att: attachmentField(pointer),
    text: attachmentFallbackText(fileName),
    ...(options.caption === undefined ? {} : { caption: options.caption }),
  };
  return { content, line: attachmentLine(fileName, source.size, options.caption) };
}
