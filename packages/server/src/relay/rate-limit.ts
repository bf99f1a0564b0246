/**
 * Token buckets for per-connection and per-account rate limits. A bucket refills at `rate`
 * tokens per second up to `burst`; `take` answers how long to wait when it is empty.
 */
import { type AccountUsage, type Bus, MAX_USAGE_ENTRIES } from '../bus/bus.ts';
import type { Limits } from '../options.ts';

/** A token bucket over an injected clock (milliseconds). */
export interface TokenBucket {
  /** Takes one token; returns 0 on success or the milliseconds until one is available. */
  take(now: number): number;
  /** Removes `n` tokens spent elsewhere (another node); the bucket may go into debt, down to `-burst`. */
  charge(n: number, now: number): void;
}

/** Creates a full bucket. */
export function createTokenBucket(rate: number, burst: number, now: number): TokenBucket {
  let tokens = burst;
  let last = now;
  const refill = (t: number) => {
    tokens = Math.min(burst, tokens + (Math.max(0, t - last) / 1000) * rate);
    last = Math.max(last, t);
  };
  return {
    take(t) {
      refill(t);
      if (tokens >= 1) {
        tokens -= 1;
        return 0;
      }
      return Math.ceil(((1 - tokens) / rate) * 1000);
    },
    charge(n, t) {
      refill(t);
      tokens = Math.max(-burst, tokens - n);
    },
  };
}

/** Per-account buckets (see createBucketMap). */
export interface BucketMap {
  /** Takes a token from `key`'s bucket: 0, or the milliseconds to wait. */
  take(key: string, now: number): number;
  /** Charges `key`'s bucket with `n` tokens taken on another node. */
  charge(key: string, n: number, now: number): void;
  /** The tokens taken here per key since the last call (what this node reports to the others). */
  takeUsage(): Map<string, number>;
}

/**
 * Buckets keyed by account name, created on first use and forgotten once idle long enough to be
 * full again. With `shared`, the tokens taken are counted for `takeUsage` (several nodes); without, not.
 */
export function createBucketMap(rate: number, burst: number, shared = false): BucketMap {
  const buckets = new Map<string, { bucket: TokenBucket; lastUse: number }>();
  // Long enough for a bucket to refill from the deepest debt a charge can leave (-burst) to full.
  const idleMs = ((2 * burst) / rate) * 1000;
  let lastSweep = 0;
  let usage = new Map<string, number>();
  const entry = (key: string, now: number) => {
    if (now - lastSweep > 60_000) {
      for (const [k, e] of buckets) if (e.lastUse < now - idleMs) buckets.delete(k);
      lastSweep = now;
    }
    let e = buckets.get(key);
    if (e === undefined) {
      e = { bucket: createTokenBucket(rate, burst, now), lastUse: now };
      buckets.set(key, e);
    }
    e.lastUse = now;
    return e.bucket;
  };
  return {
    take(key, now) {
      const wait = entry(key, now).take(now);
      if (wait === 0 && shared) usage.set(key, (usage.get(key) ?? 0) + 1);
      return wait;
    },
    charge(key, n, now) {
      entry(key, now).charge(n, now);
    },
    takeUsage() {
      const taken = usage;
      usage = new Map();
      return taken;
    },
  };
}

/** Where a node reports what it allowed, and hears what the others did. */
export interface UsageSharing {
  readonly bus: Bus;
  /** This node's id (its own reports come back to it and are skipped). */
  readonly node: string;
  readonly clock: () => number;
}

/**
 * The per-account limits of a node. On one node they are its buckets. With several nodes
 * (`sharing`), each node publishes every `usageReportMs` (a second) what it allowed per account (a `usage` bus event,
 * `report`) and charges what the others publish to its own buckets (`absorb`): an account's
 * devices spread over N nodes then share one limit, give or take a second's worth per node.
 */
export function createAccountLimits(
  limits: Pick<
    Limits,
    | 'sendRate'
    | 'sendBurst'
    | 'fetchRate'
    | 'fetchBurst'
    | 'usageReportMs'
    | 'targetFetchRatePerRequester'
    | 'targetFetchBurstPerRequester'
    | 'targetFetchRate'
    | 'targetFetchBurst'
  >,
  sharing?: UsageSharing,
) {
  const shared = sharing !== undefined;
  const sends = createBucketMap(limits.sendRate, limits.sendBurst, shared);
  const fetches = createBucketMap(limits.fetchRate, limits.fetchBurst, shared);
  const self = {
    sends,
    fetches,
    /**
     * Fetches of one target account's keys: by requester (keyed `requester NUL target`) and in
     * total (keyed by target). Per node: with several nodes each enforces its own share.
     */
    targetFetches: {
      byRequester: createBucketMap(limits.targetFetchRatePerRequester, limits.targetFetchBurstPerRequester),
      total: createBucketMap(limits.targetFetchRate, limits.targetFetchBurst),
      /** When each device was last told `stock-drained` (by stock, account and device). */
      notified: new Map<string, number>(),
    },
    /** What this node allowed since the last report, in chunks of at most `MAX_USAGE_ENTRIES`. */
    report(): AccountUsage[] {
      const s = [...sends.takeUsage()];
      const f = [...fetches.takeUsage()];
      const out: AccountUsage[] = [];
      for (let i = 0; i < Math.max(s.length, f.length); i += MAX_USAGE_ENTRIES)
        out.push({ sends: s.slice(i, i + MAX_USAGE_ENTRIES), fetches: f.slice(i, i + MAX_USAGE_ENTRIES) });
      return out;
    },
    /** Charges what another node allowed. */
    absorb(usage: AccountUsage, now: number): void {
      for (const [account, n] of usage.sends) sends.charge(account, n, now);
      for (const [account, n] of usage.fetches) fetches.charge(account, n, now);
    },
    /** Stops reporting (the server is closing). */
    stop(): void {
      clearInterval(reporter);
    },
  };
  const reporter = sharing
    ? setInterval(() => {
        for (const usage of self.report()) sharing.bus.publish({ type: 'usage', node: sharing.node, usage });
      }, limits.usageReportMs)
    : undefined;
  reporter?.unref();
  sharing?.bus.subscribe((e) => {
    if (e.type === 'usage' && e.node !== sharing.node) self.absorb(e.usage, sharing.clock());
  });
  return self;
}
