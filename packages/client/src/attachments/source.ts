/**
 * Where an attachment's bytes come from and go to, on any runtime: a source is a name, a size,
 * a type and a stream of bytes read once (a `Blob`/`File` in browsers, a file in Node through
 * `node-files.ts`); a sink takes the plaintext chunk by chunk and is committed only when the
 * whole file verified, or aborted (nothing is left under the final name).
 */
import { ATTACHMENT_CHUNK_SIZE } from '@parley/protocol';

/** A file to send. `stream()` is called once per upload attempt and must yield exactly `size` bytes. */
export interface AttachmentSource {
  readonly name: string;
  readonly size: number;
  /** Lower-case MIME type; `application/octet-stream` when not given. */
  readonly contentType?: string;
  /**
   * Names this exact content across restarts (Node: path, size and modification time), so an
   * upload cut short resumes when the same source is sent again (`upload-state.ts`); none: the
   * upload starts afresh each time.
   */
  readonly resumeKey?: string;
  stream(): AsyncIterable<Uint8Array>;
}

/** Where a downloaded attachment goes. */
export interface AttachmentSink {
  write(chunk: Uint8Array): Promise<void>;
  /** The whole file verified: make it visible (rename into place); resolves with where it is. */
  commit(): Promise<string | undefined>;
  /** Verification failed or the download broke: remove everything written. */
  abort(): Promise<void>;
}

/** Bytes `blobSource` reads per `Blob.slice`: one plaintext chunk of the attachment format. */
export const BLOB_SLICE_SIZE = ATTACHMENT_CHUNK_SIZE;

/**
 * Reads `blob` one `slice` at a time (`BLOB_SLICE_SIZE` bytes each): only the slice being read
 * is ever in memory, whatever the file size (a `File` from a file picker stays on disk).
 */
export async function* readBlobSlices(blob: Blob, sliceSize = BLOB_SLICE_SIZE): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < blob.size; at += sliceSize) {
    yield new Uint8Array(await blob.slice(at, Math.min(blob.size, at + sliceSize)).arrayBuffer());
  }
}

/**
 * A source over a `Blob` or `File` (browsers, and Node ≥ 20), read slice by slice
 * (`readBlobSlices`). `contentType` overrides the blob's own type (an app that sniffed it).
 */
export function blobSource(blob: Blob, name?: string, contentType?: string): AttachmentSource {
  const fileName = name ?? (blob as Blob & { name?: string }).name ?? 'attachment';
  const type = contentType ?? blob.type;
  return {
    name: fileName,
    size: blob.size,
    ...(type === '' ? {} : { contentType: type.toLowerCase() }),
    stream: () => readBlobSlices(blob),
  };
}

/**
 * A sink building a `Blob` chunk by chunk (browsers): each verified chunk becomes a small blob
 * of its own (which the browser may keep on disk rather than in the page's memory), and `blob()`
 * is their concatenation, typed `type`, once the whole file verified. Aborted: nothing.
 */
export function blobSink(type = 'application/octet-stream'): AttachmentSink & { blob(): Blob | undefined } {
  let parts: Blob[] = [];
  let done: Blob | undefined;
  return {
    async write(chunk) {
      parts.push(new Blob([chunk.slice() as Uint8Array<ArrayBuffer>]));
    },
    async commit() {
      done = new Blob(parts, { type });
      parts = [];
      return undefined;
    },
    async abort() {
      parts = [];
      done = undefined;
    },
    blob: () => done,
  };
}

/** A sink collecting into memory (tests and small previews only: it holds the whole file). */
export function memorySink(): AttachmentSink & { bytes(): Uint8Array | undefined } {
  let parts: Uint8Array[] = [];
  let done: Uint8Array | undefined;
  return {
    async write(chunk) {
      parts.push(chunk.slice());
    },
    async commit() {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      done = out;
      parts = [];
      return undefined;
    },
    async abort() {
      parts = [];
    },
    bytes: () => done,
  };
}
