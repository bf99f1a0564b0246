/**
 * A conversation's messages as a windowed, self-scrolling list: only the rows near the visible
 * part are in the page (so 10,000 messages scroll like 50), heights are measured as rows are
 * shown and estimated until then. It opens at the first unread message under an "Unread
 * messages" divider (or at the newest), follows new messages while the reader is at the bottom,
 * and otherwise offers a "New messages ↓" button instead of moving the text they are reading.
 */
import type { StoredMessage } from '@parley/client/web';
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { dayLabel, otherDay } from './format.ts';

/** Row height used until a row has been shown and measured (px). */
const ESTIMATE = 64;
/** How far beyond the visible part rows are kept rendered (px), so fast scrolling shows text. */
const OVERSCAN = 600;
/** Within this distance of the end (px), the reader counts as "at the newest message". */
const AT_END = 48;

type Row =
  | { kind: 'day'; key: string; at: number }
  | { kind: 'unread'; key: string }
  | { kind: 'msg'; key: string; m: StoredMessage; at: number };

/** Builds the rows: day headings, the unread divider before the first of the `unread` newest incoming lines, the lines. */
function buildRows(messages: readonly StoredMessage[], unread: number): { rows: Row[]; divider: number } {
  let firstUnread = -1;
  if (unread > 0) {
    let seen = 0;
    for (let i = messages.length - 1; i >= 0; i--) {
      if (messages[i]?.direction !== 'in') continue;
      seen++;
      if (seen === unread) {
        firstUnread = i;
        break;
      }
    }
  }
  const rows: Row[] = [];
  let divider = -1;
  let previous: number | undefined;
  messages.forEach((m, i) => {
    const at = m.direction === 'in' ? (m.receivedAt ?? m.sentAt) : m.sentAt;
    if (previous === undefined || otherDay(previous, at)) rows.push({ kind: 'day', key: `day-${at}`, at });
    previous = at;
    if (i === firstUnread) {
      divider = rows.length;
      rows.push({ kind: 'unread', key: 'unread' });
    }
    rows.push({ kind: 'msg', key: `${m.sender}/${m.id}`, m, at });
  });
  return { rows, divider };
}

export interface MessageListProps {
  readonly messages: readonly StoredMessage[];
  /** How many incoming messages were unread when the conversation was opened. */
  readonly unreadAtOpen: number;
  /** Renders one message bubble. */
  readonly bubble: (m: StoredMessage, at: number) => ComponentChildren;
}

export function MessageList({ messages, unreadAtOpen, bubble }: MessageListProps) {
  const { rows, divider } = useMemo(() => buildRows(messages, unreadAtOpen), [messages, unreadAtOpen]);
  const scroller = useRef<HTMLOListElement>(null);
  const heights = useRef(new Map<string, number>());
  const [, setMeasured] = useState(0);
  const [view, setView] = useState({ top: 0, height: 800 });
  /** True while the reader is at the newest message: new ones are then scrolled into view. */
  const following = useRef(divider < 0);
  /** Until the reader scrolls, the list keeps returning to where it opened as heights become known. */
  const settling = useRef(true);
  const lastKey = useRef<string | undefined>(rows.at(-1)?.key);
  /** Where the list was scrolled, and how tall its content was, when this component last looked. */
  const seen = useRef({ top: -1, scrollHeight: 0 });
  const [newBelow, setNewBelow] = useState(0);

  // Offsets of every row from the top (prefix sums of measured or estimated heights).
  const offsets = new Float64Array(rows.length + 1);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Row;
    offsets[i + 1] = (offsets[i] as number) + (heights.current.get(row.key) ?? (row.kind === 'msg' ? ESTIMATE : 36));
  }
  const total = offsets[rows.length] as number;
  let start = 0;
  while (start < rows.length && (offsets[start + 1] as number) < view.top - OVERSCAN) start++;
  let end = start;
  while (end < rows.length && (offsets[end] as number) < view.top + view.height + OVERSCAN) end++;

  const toEnd = () => {
    const el = scroller.current;
    if (el) el.scrollTop = el.scrollHeight;
  };

  // After each render: measure what is shown, then keep the reader where they belong.
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    // The reader may have scrolled after the last render without the scroll event having been
    // dispatched yet (it comes with the next frame): judge "at the end" against the content as
    // it was before this render added rows, so a line arriving in that gap does not pull them back.
    // A position the browser clamped because measured rows came out shorter than estimated is
    // still at the end by the content as it is now.
    if (seen.current.top >= 0 && el.scrollTop !== seen.current.top) {
      const top = el.scrollTop;
      following.current =
        seen.current.scrollHeight - top - el.clientHeight < AT_END || el.scrollHeight - top - el.clientHeight < AT_END;
    }
    let changed = false;
    for (const li of Array.from(el.querySelectorAll<HTMLLIElement>(':scope > li[data-key]'))) {
      const key = li.dataset.key as string;
      const h = li.offsetHeight;
      if (h > 0 && heights.current.get(key) !== h) {
        heights.current.set(key, h);
        changed = true;
      }
    }
    const newest = rows.at(-1);
    if (newest !== undefined && newest.key !== lastKey.current) {
      lastKey.current = newest.key;
      // Our own new line is always shown; someone else's only if the reader is at the end.
      if (newest.kind === 'msg' && newest.m.direction === 'out') following.current = true;
      if (!following.current) setNewBelow((n) => n + 1);
    }
    if (following.current) toEnd();
    else if (settling.current && divider >= 0) el.scrollTop = Math.max(0, (offsets[divider] as number) - 8);
    seen.current = { top: el.scrollTop, scrollHeight: el.scrollHeight };
    if (changed) setMeasured((n) => n + 1);
  });

  // The viewport's height follows the window (phone rotation, keyboard, resizing).
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const sync = () => setView({ top: el.scrollTop, height: el.clientHeight });
    sync();
    const observer = new ResizeObserver(() => {
      sync();
      if (following.current) toEnd();
    });
    observer.observe(el);
    const stopSettling = () => {
      settling.current = false;
    };
    const events = ['wheel', 'touchstart', 'keydown', 'pointerdown'] as const;
    for (const e of events) el.addEventListener(e, stopSettling, { passive: true });
    return () => {
      observer.disconnect();
      for (const e of events) el.removeEventListener(e, stopSettling);
    };
  }, []);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < AT_END;
    following.current = atEnd;
    seen.current = { top: el.scrollTop, scrollHeight: el.scrollHeight };
    if (atEnd) {
      settling.current = false;
      setNewBelow(0);
    }
    setView({ top: el.scrollTop, height: el.clientHeight });
  };

  return (
    <div class="message-area">
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard to scroll it (WCAG 2.1.1) */}
      <ol class="messages" aria-label="Messages" ref={scroller} onScroll={onScroll} tabIndex={0}>
        <li class="spacer" aria-hidden="true" style={{ height: `${offsets[start]}px` }} />
        {rows.slice(start, end).map((row) => {
          if (row.kind === 'day')
            return (
              <li key={row.key} data-key={row.key} class="day">
                {dayLabel(row.at)}
              </li>
            );
          if (row.kind === 'unread')
            return (
              <li key={row.key} data-key={row.key} class="unread-divider" data-testid="unread-divider">
                <span>Unread messages</span>
              </li>
            );
          return (
            <li key={row.key} data-key={row.key} class="row">
              {bubble(row.m, row.at)}
            </li>
          );
        })}
        <li class="spacer" aria-hidden="true" style={{ height: `${total - (offsets[end] as number)}px` }} />
      </ol>
      {newBelow > 0 && (
        <button
          type="button"
          class="new-below"
          data-testid="new-messages"
          onClick={() => {
            following.current = true;
            setNewBelow(0);
            toEnd();
          }}
        >
          New messages ↓
        </button>
      )}
    </div>
  );
}
