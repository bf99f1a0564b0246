/**
 * The disappearing-message timers a conversation may have (docs/protocol.md §21): one table,
 * from which the SDK's check, the content decoder, the CLI's words and the browser's select
 * are all derived. Nothing else is accepted.
 */

/** Each timer: its length in seconds, the CLI's short word and the words people read. */
export const DISAPPEARING_TIMERS = [
  { seconds: 5 * 60, short: '5m', words: '5 minutes' },
  { seconds: 60 * 60, short: '1h', words: '1 hour' },
  { seconds: 24 * 60 * 60, short: '1d', words: '1 day' },
  { seconds: 7 * 24 * 60 * 60, short: '1w', words: '1 week' },
  { seconds: 28 * 24 * 60 * 60, short: '4w', words: '4 weeks' },
] as const;

/** A timer's length in seconds: one of `DISAPPEARING_TIMERS`. */
export type TimerSeconds = (typeof DISAPPEARING_TIMERS)[number]['seconds'];

/** The longest timer, in seconds (what the server accepts as a queued copy's lifetime at most). */
export const MAX_TIMER_SECONDS = 28 * 24 * 60 * 60;

/** Whether `x` is one of the timers. */
export function isTimerSeconds(x: unknown): x is TimerSeconds {
  return DISAPPEARING_TIMERS.some((t) => t.seconds === x);
}

/** "1 hour", or "off". */
export function timerWords(seconds: number | undefined): string {
  return DISAPPEARING_TIMERS.find((t) => t.seconds === seconds)?.words ?? 'off';
}
