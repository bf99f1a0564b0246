/**
 * Dates and times as people read them, in their locale: a day heading ("Today", "Yesterday",
 * or the date) and a clock time; a conversation's title.
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

/** A conversation's title: the account name, or the group's name. */
export function peerTitle(peer: string, groupName: (id: string) => string | undefined): string {
  const conversation = parsePeer(peer);
  if (conversation.kind === 'account') return conversation.name;
  return groupName(conversation.groupId) ?? 'Group';
}
