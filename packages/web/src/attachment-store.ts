/**
 * The page's attachments: what arrived (the SDK's `attachment` events, kept for this page's
 * lifetime: the history stores only each attachment's text line), what this page sent (the
 * local file), uploads in progress per conversation, and each attachment's download. Files are
 * read and written chunk by chunk by the SDK (`blobSource`, `blobSink`); this module only sniffs
 * a file's first bytes to decide how it may be shown, never trusting the declared type.
 */
import {
  blobSink,
  blobSource,
  type ClientEvent,
  groupIdOf,
  type ParleyClient,
  type ReceivedAttachment,
  type StoredMessage,
} from '@parley/client/web';
import { type AudioType, type ImageType, sniffAudio, sniffImage } from './sniff.ts';

const headOf = async (blob: Blob) => new Uint8Array(await blob.slice(0, 16).arrayBuffer());

/** Downloaded automatically when they look like media (larger ones wait for a click). */
export const AUTO_DOWNLOAD_BYTES = 25 * 1024 * 1024;
/** Largest inline preview (the pointer's limit). */
const THUMBNAIL_MAX_BYTES = 64 * 1024;
/** Longest side of a generated preview (px). */
export const THUMBNAIL_SIDE = 320;
/** Images above this are sent without a preview (decoding them would need the whole file in memory). */
const THUMBNAIL_SOURCE_MAX_BYTES = 50 * 1024 * 1024;

/** How a downloaded (or local) file is shown. */
export type Shown =
  | { readonly kind: 'image'; readonly url: string; readonly type: ImageType }
  | { readonly kind: 'audio'; readonly url: string; readonly type: AudioType }
  | { readonly kind: 'file'; readonly url: string };

/** One attachment in a conversation. */
export interface AttachmentEntry {
  readonly fileName: string;
  readonly size: number;
  readonly contentType: string;
  readonly caption: string | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
  /** blob: URL of the inline preview, if it had one and it is an image by its bytes. */
  thumbnail: string | undefined;
  /** Download progress (plaintext bytes), while downloading. */
  progress: { done: number; total: number } | undefined;
  shown: Shown | undefined;
  error: string | undefined;
  /** Gets the file as a Blob (downloads and verifies it, or the file this page sent). */
  readonly load: (onProgress: (done: number, total: number) => void) => Promise<Blob>;
}

/** An upload in progress (or failed) in a conversation. */
export interface Upload {
  readonly key: number;
  readonly peer: string;
  readonly fileName: string;
  readonly size: number;
  done: number;
  total: number;
  error: string | undefined;
}

const keyOf = (m: Pick<StoredMessage, 'peer' | 'sender' | 'id'>) => `${m.peer}\n${m.sender}\n${m.id}`;

/** Is `type` a media type this page would show inline, by its declared type (checked by bytes later)? */
export const looksLikeMedia = (type: string) =>
  ['image/png', 'image/jpeg', 'image/webp', 'image/gif'].includes(type) || type.startsWith('audio/');

/** Makes a preview of an image file: ≤ 320 px, JPEG, ≤ 64 KiB; undefined if it cannot. */
async function makeThumbnail(
  file: Blob,
): Promise<{ width: number; height: number; thumbnail?: { contentType: string; data: Uint8Array } } | undefined> {
  if (file.size > THUMBNAIL_SOURCE_MAX_BYTES || typeof createImageBitmap !== 'function') return undefined;
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return undefined;
  }
  const { width, height } = bitmap;
  try {
    if (typeof OffscreenCanvas !== 'function' || width === 0 || height === 0) return { width, height };
    const scale = Math.min(1, THUMBNAIL_SIDE / Math.max(width, height));
    const canvas = new OffscreenCanvas(Math.max(1, Math.round(width * scale)), Math.max(1, Math.round(height * scale)));
    const ctx = canvas.getContext('2d');
    if (ctx === null) return { width, height };
    ctx.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    for (const quality of [0.8, 0.6, 0.4]) {
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality });
      if (blob.size <= THUMBNAIL_MAX_BYTES) {
        return {
          width,
          height,
          thumbnail: { contentType: 'image/jpeg', data: new Uint8Array(await blob.arrayBuffer()) },
        };
      }
    }
    return { width, height };
  } finally {
    bitmap.close();
  }
}

/** Turns a verified Blob into what may be shown: an image or audio by its bytes, else a file to save. */
async function show(blob: Blob): Promise<Shown> {
  const head = await headOf(blob);
  const image = sniffImage(head);
  if (image !== undefined)
    return { kind: 'image', type: image, url: URL.createObjectURL(blob.slice(0, blob.size, image)) };
  const audio = sniffAudio(head);
  if (audio !== undefined)
    return { kind: 'audio', type: audio, url: URL.createObjectURL(blob.slice(0, blob.size, audio)) };
  // Typed as an opaque download: a blob: URL of it is never rendered as a page.
  return { kind: 'file', url: URL.createObjectURL(blob.slice(0, blob.size, 'application/octet-stream')) };
}

/** The attachments of one session. */
export interface AttachmentStore {
  /** Feeds a client event (the session does, for every event). */
  onEvent(e: ClientEvent): void;
  /** The attachment of a stored message, if this page knows it. */
  entry(m: StoredMessage): AttachmentEntry | undefined;
  /** Uploads in progress (or failed) in conversation `peer`. */
  uploads(peer: string): readonly Upload[];
  /** Encrypts, uploads and sends `file` to `peer` (an account or a group conversation). */
  send(peer: string, file: Blob, name: string, extra?: { durationMs?: number }): Promise<void>;
  /** Dismisses a failed upload. */
  dismiss(upload: Upload): void;
  /** Downloads (once) and shows an attachment; `save` then hands a file to the browser's downloads. */
  fetch(entry: AttachmentEntry, save?: boolean): Promise<void>;
  /** Calls `fn` on every change; returns the unsubscribe function. */
  subscribe(fn: () => void): () => void;
}

/** Saves a blob: URL as a download named `name` (an <a download>, never a navigation). */
function saveAs(url: string, name: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
}

export function createAttachmentStore(client: ParleyClient): AttachmentStore {
  const entries = new Map<string, AttachmentEntry>();
  const uploads: Upload[] = [];
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of listeners) l();
  };
  let nextUpload = 0;
  const loading = new Map<AttachmentEntry, Promise<void>>();

  const fromReceived = (a: ReceivedAttachment): AttachmentEntry => {
    const entry: AttachmentEntry = {
      fileName: a.fileName,
      size: a.size,
      contentType: a.contentType,
      caption: a.caption,
      width: a.width,
      height: a.height,
      thumbnail: undefined,
      progress: undefined,
      shown: undefined,
      error: undefined,
      async load(onProgress) {
        const sink = blobSink();
        await a.download(sink, { onProgress });
        const blob = sink.blob();
        if (blob === undefined) throw new Error('the download did not complete');
        return blob;
      },
    };
    const thumb = a.thumbnail;
    if (thumb !== undefined) {
      const type = sniffImage(thumb.data.subarray(0, 16));
      if (type !== undefined) entry.thumbnail = URL.createObjectURL(new Blob([thumb.data.slice()], { type }));
    }
    return entry;
  };

  const store: AttachmentStore = {
    onEvent(e) {
      if (e.type !== 'attachment') return;
      const entry = fromReceived(e.attachment);
      entries.set(keyOf(e.message), entry);
      if (looksLikeMedia(entry.contentType) && entry.size <= AUTO_DOWNLOAD_BYTES) void store.fetch(entry);
      changed();
    },
    entry: (m) => entries.get(keyOf(m)),
    uploads: (peer) => uploads.filter((u) => u.peer === peer),
    async send(peer, file, name, extra = {}) {
      const upload: Upload = {
        key: nextUpload++,
        peer,
        fileName: name,
        size: file.size,
        done: 0,
        total: 0,
        error: undefined,
      };
      uploads.push(upload);
      changed();
      try {
        const head = await headOf(file);
        const image = sniffImage(head);
        const type = image ?? sniffAudio(head) ?? (file.type === '' ? undefined : file.type);
        const meta = image === undefined ? undefined : await makeThumbnail(file);
        const options = {
          ...(meta ?? {}),
          ...(extra.durationMs === undefined ? {} : { durationMs: extra.durationMs }),
          onProgress: (done: number, total: number) => {
            upload.done = done;
            upload.total = total;
            changed();
          },
        };
        const source = blobSource(file, name, type);
        const groupId = groupIdOf(peer);
        const { id } =
          groupId === undefined
            ? await client.sendFile(peer, source, options)
            : await client.sendFileToGroup(groupId, source, options);
        const entry: AttachmentEntry = {
          fileName: source.name,
          size: file.size,
          contentType: source.contentType ?? 'application/octet-stream',
          caption: undefined,
          width: meta?.width,
          height: meta?.height,
          thumbnail: undefined,
          progress: undefined,
          shown: undefined,
          error: undefined,
          load: async () => file,
        };
        entries.set(keyOf({ peer, sender: client.name, id }), entry);
        uploads.splice(uploads.indexOf(upload), 1);
        void store.fetch(entry);
      } catch (err) {
        upload.error = err instanceof Error ? err.message : 'the upload failed';
      }
      changed();
    },
    dismiss(upload) {
      const at = uploads.indexOf(upload);
      if (at >= 0) uploads.splice(at, 1);
      changed();
    },
    async fetch(entry, save = false) {
      let pending = loading.get(entry);
      if (pending === undefined) {
        entry.error = undefined;
        entry.progress = { done: 0, total: entry.size };
        changed();
        pending = entry
          .load((done, total) => {
            entry.progress = { done, total };
            changed();
          })
          .then(async (blob) => {
            entry.shown = await show(blob);
          })
          .catch((err: unknown) => {
            loading.delete(entry);
            entry.error = err instanceof Error ? err.message : 'the download failed';
          })
          .finally(() => {
            entry.progress = undefined;
            changed();
          });
        loading.set(entry, pending);
      }
      await pending;
      if (save && entry.shown !== undefined) saveAs(entry.shown.url, entry.fileName);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
  return store;
}
