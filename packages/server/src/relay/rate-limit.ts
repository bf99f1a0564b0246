/**
 * Token buckets for per-connection and per-account rate limits. A bucket refills at `rate`
 * tokens per second up to `burst`; `take` answers how long to wait when it is empty.
 */

/** A token bucket over an injected clock (milliseconds). */
export interface TokenBucket {
  /** Takes one token; returns 0 on success or the milliseconds until one is available. */
  take(now: number): number;
}

/** Creates a full bucket. */
export function createTokenBucket(rate: number, burst: number, now: number): TokenBucket {
  let tokens = burst;
  let last = now;
  return {
    take(t) {
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * rate);
      last = t;
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.ceil(((1 - tokens) / rate) * 1000);
    },
  };
}

/** Buckets keyed by account name, created on first use and forgotten once idle long enough to be full. */
export function createBucketMap(rate: number, burst: number): { take(key: string, now: number): number } {
  const buckets = new Map<string, { bucket: TokenBucket; lastUse: number }>();
  const idleMs = (burst / rate) * 1000;
  let lastSweep = 0;
  return {
    take(key, now) {
      if (now - lastSweep > 60_000) {
        for (const [k, e] of buckets) if (e.lastUse < now - idleMs) buckets.delete(k);
        lastSweep = now;
      }
      let entry = buckets.get(key);
      if (entry === undefined) {
        entry = { bucket: createTokenBucket(rate, burst, now), lastUse: now };
        buckets.set(key, entry);
      }
      entry.lastUse = now;
      return entry.bucket.take(now);
    },
  };
}
