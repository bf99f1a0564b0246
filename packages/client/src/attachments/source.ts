/**
 * Where an attachment's bytes come from and go to, on any runtime: a source is a name, a size,
 * a type and a stream of bytes read once (a `Blob`/`File` in browsers, a file in Node through
 * `node-files.ts`); a sink takes the plaintext chunk by chunk and is committed only when the
 * whole file verified, or aborted (nothing is left under the final name).
 */

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

/** A source over a `Blob` or `File` (browsers, and Node ≥ 20). */
export function blobSource(blob: Blob, name?: string): AttachmentSource {
  const fileName = name ?? (blob as Blob & { name?: string }).name ?? 'attachment';
  return {
    name: fileName,
    size: blob.size,
    ...(blob.type === '' ? {} : { contentType: blob.type.toLowerCase() }),
    stream: () => blob.stream() as unknown as AsyncIterable<Uint8Array>,
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
