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
  const secrets = generateAttachmentSecrets(deps.random);
  const blobSize = attachmentBlobSize(source.size);
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
  const fileName = sanitizeFileName(source.name);
  const type = source.contentType?.toLowerCase();
  const blobId = fromBase64Url('blob id', slot.id);
  if (blobId.length !== BLOB_ID_LENGTH)
    throw new ClientError('UPLOAD_FAILED', 'the server answered a malformed blob id');
  const pointer = encodeAttachmentPointer({
    version: 1,
    blobId,
    key: secrets.key,
    digest: sealed.digest(),
    size: source.size,
    blobSize,
    contentType: type !== undefined && MIME.test(type) && type.length <= 127 ? type : 'application/octet-stream',
    fileName,
  });
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
