/**
 * Dates and times as people read them, in their locale: a day heading ("Today", "Yesterday",
 * or the date) and a clock time; a conversation's title; names and previews with their bidi
 * controls shown instead of obeyed.
 */
import { parsePeer } from '@parley/client/web';

const dayKey = (ms: number): string => new Date(ms).toDateString();

/** The heading of the day `ms` falls on, relative to `now`. */
export function dayLabel(ms: number, now = Date.now()): string {
  if (dayKey(ms) === dayKey(now)) return 'Today';
  if (dayKey(ms) === dayKey(now - 86_400_000)) return 'Yesterday';
  return new Date(ms).toLocaleDateString(undefined, {
    weekday: 'short',
    year: 'numeric',
    month: 'short',
    day: 'numeric',
  });
}

/** True when `a` and `b` fall on different days. */
export const otherDay = (a: number, b: number): boolean => dayKey(a) !== dayKey(b);

/** The clock time of `ms`. */
export const timeLabel = (ms: number): string =>
  new Date(ms).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

/**
 * Bidi controls: the Arabic letter mark, LRM/RLM, embeddings and overrides (U+202A–U+202E) and
 * isolates (U+2066–U+2069).
 */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * `text` (a name, a group name or a message preview: someone else's) with each bidi control
 * shown as `\u202e` instead of obeyed: an override would make "Trip<RLO>gpj.exe" read "Tripexe.jpg",
 * and an unclosed one reorders what follows it in the list. Shown inside `<bdi>` too, so the
 * text cannot reorder its neighbours either.
 */
export const showBidi = (text: string): string =>
  text.replace(BIDI_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A conversation's title: the account name, or the group's name (bidi controls shown). */
export function peerTitle(peer: string, groupName: (id: string) => string | undefined): string {
  const conversation = parsePeer(peer);
  if (conversation.kind === 'account') return conversation.name;
  return showBidi(groupName(conversation.groupId) ?? 'Group');
}
