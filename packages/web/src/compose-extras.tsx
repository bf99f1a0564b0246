/**
 * Composing helpers: a draft per conversation that survives switching between them (kept in
 * memory for this page, and in sessionStorage so a reload of the tab keeps it too), a text box
 * that grows with its lines, and the remaining length shown as the limit nears.
 */
import { MAX_TEXT_BYTES } from '@parley/client/web';
import { useEffect, useState } from 'preact/hooks';

const KEY = 'parley-draft:';
const drafts = new Map<string, string>();

function load(peer: string): string {
  const kept = drafts.get(peer);
  if (kept !== undefined) return kept;
  try {
    return sessionStorage.getItem(KEY + peer) ?? '';
  } catch {
    return '';
  }
}

function save(peer: string, text: string): void {
  if (text === '') drafts.delete(peer);
  else drafts.set(peer, text);
  try {
    if (text === '') sessionStorage.removeItem(KEY + peer);
    else sessionStorage.setItem(KEY + peer, text);
  } catch {
    // Storage full or off: the in-memory copy still survives switching conversations.
  }
}

/** The draft of `peer`'s conversation as state: read when the conversation opens, saved on every change. */
export function useDraft(peer: string): [string, (text: string) => void] {
  const [draft, setDraft] = useState(() => load(peer));
  return [
    draft,
    (text: string) => {
      save(peer, text);
      setDraft(text);
    },
  ];
}

/** Grows the text box to fit its text (CSS caps its height; beyond that it scrolls). */
export function useAutoGrow(box: { current: HTMLTextAreaElement | null }, text: string): void {
  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    el.style.height = 'auto';
    el.style.height = `${el.scrollHeight + (el.offsetHeight - el.clientHeight)}px`;
  }, [box, text]);
}

const encoder = new TextEncoder();
/** Shown once fewer than this many bytes remain. */
const WARN_AT = 1000;

/** "N characters left" (bytes, as the limit counts them) near the limit; "N over the limit" past it. */
export function RemainingLength({ text }: { text: string }) {
  const left = MAX_TEXT_BYTES - encoder.encode(text).length;
  if (left >= WARN_AT) return null;
  return (
    <span class={`remaining${left < 0 ? ' over' : ''}`} data-testid="remaining" aria-live="polite">
      {left >= 0 ? `${left} left` : `${-left} over the limit`}
    </span>
  );
}

/** Whether `text` fits in one message. */
export const fitsLimit = (text: string): boolean => encoder.encode(text).length <= MAX_TEXT_BYTES;
