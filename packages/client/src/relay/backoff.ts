/**
 * How long a link waits before its next reconnection attempt (issue 24, "recovery is slow").
 *
 * Before: full jitter, `random × min(30 s, 250 ms × 2^attempt)`. After a 10 s outage a client was
 * five attempts in, so its next wait was anywhere in 0–8 s and the one after in 0–16 s: the last
 * of 20 clients came back 25.9 s after the server did. Now "equal jitter" under a low cap: the
 * wait is `ceiling/2 + random × ceiling/2` with `ceiling = min(cap, 250 ms × 2^attempt)`. Every
 * client that has been waiting a while tries again at least every `cap` (5 s by default: one
 * attempt per client every 2.5–5 s once the ceiling is reached, so 1,000 clients make at most
 * about 400 attempts a second against a server that is down) and, once it is back, all are back
 * within one `cap` of its return, spread evenly over the second half of that window rather than
 * bunched at zero. `npm run bench -- reconnect` measures the result (bench/RESULTS.md).
 *
 * A server that sheds load names its own wait (`retryAfterMs` of a `RATE_LIMITED` or
 * `STORAGE_UNAVAILABLE` handshake refusal, or a close with code 1013 "try again later" and the
 * reason `retry-after-ms=N`): the wait is then `hint + random × hint / 2`, never under the hint.
 * Pure: the random draw is passed in.
 */

/** The default longest wait between attempts (`maxBackoffMs`). */
export const DEFAULT_MAX_BACKOFF_MS = 5000;
/** The first attempt's ceiling. */
export const BASE_BACKOFF_MS = 250;
/** The longest server hint a client honours (a hostile server cannot park it for longer). */
export const MAX_HINT_MS = 5 * 60_000;

/**
 * The wait before attempt `attempt` (0 for the first after a loss), given `random` in [0, 1), the
 * cap, and the server's hint when it gave one.
 */
export function reconnectDelay(attempt: number, random: number, capMs: number, hintMs?: number): number {
  if (hintMs !== undefined && Number.isFinite(hintMs) && hintMs > 0) {
    const hint = Math.min(hintMs, MAX_HINT_MS);
    return hint + (random * hint) / 2;
  }
  const ceiling = Math.min(capMs, BASE_BACKOFF_MS * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (random * ceiling) / 2;
}

/** The WebSocket close code "Try Again Later" (RFC 6455 registry) a shedding server closes with. */
export const TRY_AGAIN_LATER = 1013;

/** The hint in a close reason `retry-after-ms=N`, or undefined. */
export function closeReasonHint(reason: string | undefined): number | undefined {
  const m = /(?:^|[;\s])retry-after-ms=(\d{1,9})(?:$|[;\s])/.exec(reason ?? '');
  return m?.[1] === undefined ? undefined : Number(m[1]);
}
