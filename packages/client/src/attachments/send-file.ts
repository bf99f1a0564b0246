/**
 * Sending a file (docs/protocol.md §16): fresh secrets, an upload slot from the relay, the
 * sealed blob streamed up (`transfer.ts`), then the pointer queued as an attachment message
 * through the same outbox as text, so it is encrypted to every device of the recipient and of
 * this account like any message.
 */
import {
  type AttachmentSecrets,
  attachmentBlobSize,
  BLOB_ID_LENGTH,
  type BlobSlot,
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
import { type Progress, storedUploadOffset, uploadBlob } from './transfer.ts';
import type { UploadStateStore } from './upload-state.ts';

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
  /**
   * Called once when the upload resumes one cut short earlier (same source, slot still open),
   * with the bytes the server already holds and the blob's size.
   */
  readonly onResume?: (offset: number, total: number) => void;
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
  /** Where uploads in progress are kept across restarts (the home); none: no resuming. */
  readonly uploads?: UploadStateStore;
}

/**
 * The slot and secrets of an upload of `source` cut short earlier, and the server's offset for
 * it; undefined (and the stale row dropped) when there is none to resume.
 */
async function resumable(
  deps: SendFileDeps,
  source: AttachmentSource,
  blobSize: number,
  signal: AbortSignal | undefined,
): Promise<{ slot: BlobSlot; secrets: AttachmentSecrets; from: number } | undefined> {
  if (source.resumeKey === undefined || deps.uploads === undefined) return undefined;
  const kept = deps.uploads.get(source.resumeKey);
  if (kept === undefined) return undefined;
  // An upload must finish before `uploadBy` (the server collects it then); leave a minute's margin.
  const from =
    kept.blobSize === blobSize && kept.slot.uploadBy > deps.clock() + 60_000
      ? await storedUploadOffset(deps.server, kept.slot, signal)
      : undefined;
  if (from === undefined || from > blobSize) {
    deps.uploads.remove(source.resumeKey);
    return undefined;
  }
  return { slot: kept.slot, secrets: { key: kept.key, noncePrefix: kept.noncePrefix }, from };
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
  const resumed = await resumable(deps, source, blobSize, options.signal);
  let slot: BlobSlot;
  let secrets: AttachmentSecrets;
  let from = 0;
  const key = source.resumeKey;
  if (resumed !== undefined) {
    ({ slot, secrets, from } = resumed);
    options.onResume?.(from, blobSize);
  } else {
    secrets = generateAttachmentSecrets(deps.random);
    slot = await requireConnected(deps.link()).request('blob-slot', { size: blobSize });
    // Kept before the first byte goes up, so a client killed from here on resumes this upload.
    if (key !== undefined) {
      deps.uploads?.save({
        resumeKey: key,
        slot,
        key: secrets.key,
        noncePrefix: secrets.noncePrefix,
        blobSize,
        offset: 0,
      });
    }
  }
  const sealed = sealAttachment(deps.provider, secrets, source.size, source.stream());
  await uploadBlob({
    server: deps.server,
    slot,
    size: blobSize,
    pieces: sealed.pieces,
    from,
    ...(key !== undefined && deps.uploads !== undefined
      ? { onAcknowledged: (offset: number) => deps.uploads?.acknowledged(key, offset) }
      : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  // Uploaded: the attachment message is queued right after this returns.
  if (key !== undefined) deps.uploads?.remove(key);
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
