/**
 * Attachments in a conversation: the attach button, drag-and-drop and paste, the voice-note
 * recorder, uploads in progress as outgoing bubbles, and each attachment's body in its bubble
 * (an inline image or audio player when its bytes say it is one, else a file card with a
 * Download button). Nothing from an attachment is put into the page as HTML: images go to an
 * <img> and audio to an <audio> through blob: URLs, other files only to an <a download>.
 */
import type { StoredMessage } from '@parley/client/web';
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AttachmentEntry, AttachmentStore, Upload } from './attachment-store.ts';
import './attachments.css';

/** Re-renders the caller on every attachment change. */
export function useAttachments(store: AttachmentStore): void {
  const [, setTick] = useState(0);
  useEffect(() => store.subscribe(() => setTick((t) => t + 1)), [store]);
}

/** "1.2 MB" style sizes. */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** Small line icons (inline SVG: no emoji font needed, nothing loaded). */
const ICONS = {
  clip: 'M16.5 6.5 8.6 14.4a2 2 0 0 0 2.8 2.8l8-8a4 4 0 0 0-5.7-5.7l-8 8a6 6 0 0 0 8.5 8.5l7.3-7.3',
  mic: 'M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3zM5 11a7 7 0 0 0 14 0M12 18v3',
  stop: 'M7 7h10v10H7z',
  file: 'M14 3H6v18h12V7zM14 3v4h4',
  up: 'M12 19V5M5 12l7-7 7 7',
} as const;

function Icon({ name }: { name: keyof typeof ICONS }) {
  return (
    <svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <path
        d={ICONS[name]}
        fill="none"
        stroke="currentColor"
        stroke-width="2"
        stroke-linecap="round"
        stroke-linejoin="round"
      />
    </svg>
  );
}

/** Display size of a `width`×`height` image at most 320 px on its longest side. */
function displaySize(width: number | undefined, height: number | undefined) {
  if (width === undefined || height === undefined || width <= 0 || height <= 0) return {};
  const scale = Math.min(1, 320 / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

const percent = (done: number, total: number) => (total <= 0 ? 0 : Math.min(100, Math.floor((done / total) * 100)));

function Progress({ done, total, label }: { done: number; total: number; label: string }) {
  const p = percent(done, total);
  return (
    <span class="att-progress" data-testid="attachment-progress">
      <progress max={100} value={p} aria-label={label} />
      <span>{p}%</span>
    </span>
  );
}

/** The attachment's part of a message bubble. */
export function AttachmentBody({ store, entry }: { store: AttachmentStore; entry: AttachmentEntry }) {
  useAttachments(store);
  const { shown } = entry;
  const dims = displaySize(entry.width, entry.height);
  let body: JSX.Element | null = null;
  if (shown?.kind === 'image') {
    body = <img class="att-image" src={shown.url} alt={entry.fileName} data-testid="attachment-image" {...dims} />;
  } else if (shown?.kind === 'audio') {
    // biome-ignore lint/a11y/useMediaCaption: a voice note has no caption track to offer
    body = <audio class="att-audio" controls src={shown.url} data-testid="attachment-audio" />;
  } else if (entry.thumbnail !== undefined && shown === undefined) {
    body = (
      <img
        class="att-image att-thumb"
        src={entry.thumbnail}
        alt={`${entry.fileName} (preview)`}
        data-testid="attachment-thumbnail"
        {...dims}
      />
    );
  }
  const card =
    shown === undefined || shown.kind === 'file' || entry.progress !== undefined || entry.error !== undefined;
  return (
    <div class="attachment" data-testid="attachment">
      {body}
      {card && (
        <div class="att-card" data-testid="attachment-card">
          <span class="att-icon">
            <Icon name="file" />
          </span>
          <span class="att-name">
            <bdi>{entry.fileName}</bdi>
          </span>
          <span class="att-size">{formatBytes(entry.size)}</span>
          {entry.progress !== undefined ? (
            <Progress done={entry.progress.done} total={entry.progress.total} label={`Downloading ${entry.fileName}`} />
          ) : (
            (shown === undefined || shown.kind === 'file') && (
              <button
                type="button"
                class="att-download"
                aria-label={`Download ${entry.fileName}`}
                onClick={() => void store.fetch(entry, true)}
              >
                Download
              </button>
            )
          )}
        </div>
      )}
      {entry.error !== undefined && (
        <p class="error" role="alert">
          {entry.error}
        </p>
      )}
      {entry.caption !== undefined && entry.caption !== '' && <p class="text">{entry.caption}</p>}
    </div>
  );
}

/** The attachment of `m` if this page knows it, else undefined (the bubble shows the text line). */
export function attachmentOf(store: AttachmentStore, m: StoredMessage): AttachmentEntry | undefined {
  return m.direction === 'system' ? undefined : store.entry(m);
}

/** Uploads in progress in a conversation, as outgoing bubbles with their percentage. */
export function UploadBubbles({ store, peer }: { store: AttachmentStore; peer: string }) {
  useAttachments(store);
  const list = store.uploads(peer);
  if (list.length === 0) return null;
  return (
    <ul class="uploads" aria-label="Files being sent">
      {list.map((u: Upload) => (
        <li key={u.key} class="msg out" data-testid="upload">
          <div class="att-card">
            <span class="att-icon">
              <Icon name="up" />
            </span>
            <span class="att-name">
              <bdi>{u.fileName}</bdi>
            </span>
            <span class="att-size">{formatBytes(u.size)}</span>
            {u.error === undefined ? (
              <Progress done={u.done} total={u.total} label={`Sending ${u.fileName}`} />
            ) : (
              <button type="button" onClick={() => store.dismiss(u)}>
                Dismiss
              </button>
            )}
          </div>
          {u.error !== undefined && (
            <p class="error" role="alert">
              Not sent: {u.error}
            </p>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Files dropped or pasted onto the conversation, sent one after another. */
export function dropAndPaste(store: AttachmentStore, peer: string, enabled: boolean) {
  const sendAll = (files: FileList | null | undefined) => {
    if (!enabled || !files) return false;
    const list = Array.from(files);
    if (list.length === 0) return false;
    void (async () => {
      for (const f of list) await store.send(peer, f, f.name || 'pasted');
    })();
    return true;
  };
  return {
    onDragOver: (e: DragEvent) => {
      if (enabled && e.dataTransfer?.types.includes('Files')) {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
      }
    },
    onDrop: (e: DragEvent) => {
      if (sendAll(e.dataTransfer?.files)) e.preventDefault();
    },
    onPaste: (e: ClipboardEvent) => {
      if (sendAll(e.clipboardData?.files)) e.preventDefault();
    },
  };
}

/** The voice-note recorder type (Chromium, Firefox); undefined where MediaRecorder cannot make it. */
const VOICE_TYPE = 'audio/webm;codecs=opus';
const canRecord = () =>
  typeof MediaRecorder === 'function' &&
  MediaRecorder.isTypeSupported(VOICE_TYPE) &&
  typeof navigator.mediaDevices?.getUserMedia === 'function';

/** The attach button (and its hidden file picker) and the voice-note button, for the compose bar. */
export function AttachControls({ store, peer, disabled }: { store: AttachmentStore; peer: string; disabled: boolean }) {
  const input = useRef<HTMLInputElement>(null);
  const [recording, setRecording] = useState<{ recorder: MediaRecorder; started: number } | undefined>();
  const [problem, setProblem] = useState<string | undefined>();

  const startRecording = async () => {
    setProblem(undefined);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch {
      setProblem('The microphone is not available.');
      return;
    }
    const recorder = new MediaRecorder(stream, { mimeType: VOICE_TYPE });
    const parts: Blob[] = [];
    const started = Date.now();
    recorder.ondataavailable = (e) => {
      if (e.data.size > 0) parts.push(e.data);
    };
    recorder.onstop = () => {
      for (const t of stream.getTracks()) t.stop();
      setRecording(undefined);
      const note = new Blob(parts, { type: 'audio/webm' });
      if (note.size === 0) return;
      const stamp = new Date(started).toISOString().slice(0, 19).replace(/[T:]/g, '-');
      void store.send(peer, note, `voice-note-${stamp}.webm`, { durationMs: Date.now() - started });
    };
    recorder.start(1000);
    setRecording({ recorder, started });
  };

  return (
    <>
      <input
        ref={input}
        type="file"
        multiple
        hidden
        data-testid="attach-input"
        onChange={(e) => {
          const files = Array.from(e.currentTarget.files ?? []);
          e.currentTarget.value = '';
          void (async () => {
            for (const f of files) await store.send(peer, f, f.name);
          })();
        }}
      />
      <button
        type="button"
        class="icon-button"
        aria-label="Attach a file"
        title="Attach a file"
        disabled={disabled}
        onClick={() => input.current?.click()}
      >
        <Icon name="clip" />
      </button>
      {canRecord() && (
        <button
          type="button"
          class={`icon-button${recording ? ' recording' : ''}`}
          aria-label={recording ? 'Stop and send the voice note' : 'Record a voice note'}
          aria-pressed={recording !== undefined}
          title={recording ? 'Stop and send' : 'Record a voice note'}
          disabled={disabled}
          onClick={() => (recording ? recording.recorder.stop() : void startRecording())}
        >
          <Icon name={recording ? 'stop' : 'mic'} />
        </button>
      )}
      {problem && (
        <span class="error" role="alert">
          {problem}
        </span>
      )}
    </>
  );
}
