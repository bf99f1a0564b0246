/**
 * Files on Node for attachments: a source reading a path in 64 KiB pieces, and a sink writing
 * to a temporary name beside the destination (`.<name>.part-<random>`) and renaming it into place
 * only once the whole file verified, never over an existing file.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, open, realpath, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ClientError } from '../errors.ts';
import type { AttachmentSink, AttachmentSource } from './source.ts';

const TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
  txt: 'text/plain',
  ogg: 'audio/ogg',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  mp4: 'video/mp4',
  zip: 'application/zip',
};

/** A source over the file at `path` (its name is the path's last segment). */
export async function fileSource(path: string): Promise<AttachmentSource> {
  let size: number;
  let resumeKey: string;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw new ClientError('INVALID_ARGUMENT', `${path} is not a file`);
    size = s.size;
    // The same file, unchanged: an upload of it cut short resumes (upload-state.ts).
    resumeKey = JSON.stringify(['file', await realpath(path), s.size, s.mtimeMs, s.ino]);
  } catch (err) {
    if (err instanceof ClientError) throw err;
    throw new ClientError('INVALID_ARGUMENT', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const name = basename(path);
  const ext = name.includes('.') ? (name.split('.').pop() ?? '').toLowerCase() : '';
  const type = TYPES[ext];
  return {
    name,
    size,
    resumeKey,
    ...(type === undefined ? {} : { contentType: type }),
    stream: () => createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Uint8Array>,
  };
}

/**
 * A sink for the file at `path`: written under a temporary name in the same folder, linked to
 * `path` on commit (refusing to replace an existing file), removed on abort.
 */
export async function fileSink(path: string): Promise<AttachmentSink> {
  const temp = join(dirname(path), `.${basename(path)}.part-${randomBytes(6).toString('hex')}`);
  const file = await open(temp, 'wx', 0o600);
  let closed = false;
  const close = async () => {
    if (!closed) {
      closed = true;
      await file.close();
    }
  };
  return {
    async write(chunk) {
      let done = 0;
      while (done < chunk.length) done += (await file.write(chunk, done, chunk.length - done)).bytesWritten;
    },
    async commit() {
      await file.sync();
      await close();
      try {
        await link(temp, path);
      } finally {
        await rm(temp, { force: true });
      }
      return path;
    },
    async abort() {
      await close();
      await rm(temp, { force: true });
    },
  };
}
