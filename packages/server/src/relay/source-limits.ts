/**
 * Limits per source address, for what a client may do before it has proved who it is: open
 * sockets that are not (yet) authenticated, wait on link channels, and register accounts; and
 * one server-wide registration rate. Without them one address could take every link channel,
 * every file descriptor or thousands of names (issue 19, item 7).
 *
 * The source is the TCP peer's address (`socket.remoteAddress`): an IPv4 address, or the /64
 * of an IPv6 one (one host is usually given a whole /64). Behind a reverse proxy every client
 * has the proxy's address; docs/operating.md says what to do there.
 */
import { isIP } from 'node:net';
import type { Limits } from '../options.ts';
import { type BucketMap, createBucketMap, createTokenBucket } from './rate-limit.ts';

/** The counters and buckets one node keeps per source address. */
export interface SourceLimits {
  /** Takes an unauthenticated-socket slot for `source`: its release, or undefined when full. */
  admitSocket(source: string): (() => void) | undefined;
  /** Takes a link-channel slot for `source`: its release, or undefined when full. */
  openLink(source: string): (() => void) | undefined;
  /** A registration from `source` now: 0 when allowed, else the milliseconds to wait. */
  register(source: string, now: number): number;
}

/** The key limits count under: IPv4 as is (a mapped `::ffff:a.b.c.d` as `a.b.c.d`), IPv6 by its /64. */
export function sourceKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4;
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = address.includes('::') && tail !== '' ? tail.split(':') : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** A counter per key with a cap; entries at zero are removed, so it holds only live sources. */
function createSlots(max: number): (key: string) => (() => void) | undefined {
  const counts = new Map<string, number>();
  return (key) => {
    const n = counts.get(key) ?? 0;
    if (n >= max) return undefined;
    counts.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (counts.get(key) ?? 1) - 1;
      if (left <= 0) counts.delete(key);
      else counts.set(key, left);
    };
  };
}

/** Creates one node's source limits from the limits table. */
export function createSourceLimits(limits: Limits, now: number): SourceLimits {
  const sockets = createSlots(limits.maxUnauthenticatedPerSource);
  const links = createSlots(limits.maxLinkChannelsPerSource);
  const perSource: BucketMap = createBucketMap(limits.registerRatePerSource, limits.registerBurstPerSource);
  const global = createTokenBucket(limits.registerRate, limits.registerBurst, now);
  return {
    admitSocket: sockets,
    openLink: links,
    register(source, t) {
      // The per-source bucket first: a flooding source must not spend the server-wide tokens.
      const wait = perSource.take(source, t);
      if (wait > 0) return wait;
      return global.take(t);
    },
  };
}
