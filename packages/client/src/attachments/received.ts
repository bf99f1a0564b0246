/**
 * A received attachment as the SDK hands it to the app (the `attachment` event): what the
 * sender said about the file, and `download(destination)`, which streams, decrypts and
 * verifies it into a file (Node: a path) or any `AttachmentSink`, committing only a verified
 * file (`ATTACHMENT_CORRUPT`, `ATTACHMENT_GONE` otherwise).
 */
import { type AttachmentPointer, type CryptoProvider, toBase64Url } from '@parley/protocol';
import { ClientError } from '../errors.ts';
import type { AttachmentSink } from './source.ts';
import { downloadBlob, type Progress } from './transfer.ts';

/** A received attachment. */
export interface ReceivedAttachment {
  /** The sender's file name, sanitised: one segment, no controls, no leading dot. */
  readonly fileName: string;
  readonly size: number;
  readonly contentType: string;
  readonly caption: string | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
  readonly durationMs: number | undefined;
  /** The inline preview (already decrypted: it travelled inside the message). */
  readonly thumbnail: { readonly contentType: string; readonly data: Uint8Array } | undefined;
  /**
   * Downloads into `destination`: a file path (Node; must not exist yet) or a sink. Resolves
   * with where the file is. Rejects with `ATTACHMENT_GONE` or `ATTACHMENT_CORRUPT`; then
   * nothing is left under the final name.
   */
  download(
    destination: string | AttachmentSink,
    options?: { onProgress?: Progress; signal?: AbortSignal },
  ): Promise<string | undefined>;
}

/** Builds the app's view of a pointer. */
export function receivedAttachment(
  pointer: AttachmentPointer,
  caption: string | undefined,
  deps: {
    readonly server: string;
    readonly provider: CryptoProvider;
    fileSink: ((path: string) => Promise<AttachmentSink>) | undefined;
  },
): ReceivedAttachment {
  return {
    fileName: pointer.fileName,
    size: pointer.size,
    contentType: pointer.contentType,
    caption,
    width: pointer.width,
    height: pointer.height,
    durationMs: pointer.durationMs,
    thumbnail: pointer.thumbnail,
    async download(destination, options = {}) {
      let sink: AttachmentSink;
      if (typeof destination === 'string') {
        if (deps.fileSink === undefined) {
          throw new ClientError('INVALID_ARGUMENT', 'this platform saves attachments to a sink, not a path');
        }
        sink = await deps.fileSink(destination);
      } else sink = destination;
      return downloadBlob({
        server: deps.server,
        id: toBase64Url(pointer.blobId),
        provider: deps.provider,
        params: { key: pointer.key, digest: pointer.digest, size: pointer.size, blobSize: pointer.blobSize },
        sink,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    },
  };
}
