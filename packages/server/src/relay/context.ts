/**
 * What the relay operations share: the per-connection state, the context every operation runs
 * in, deferred results, the stored codes of delivery kinds, and the small checks every op
 * starts with (authenticated? rate-limited? a well-formed message id?).
 */

import {
  type CryptoProvider,
  type DeliveryKind,
  type DeviceIdentityPublic,
  decodeDeviceIdentityPublic,
  MESSAGE_ID_MAX_LENGTH,
  MESSAGE_ID_MIN_LENGTH,
  MESSAGE_ID_PATTERN,
  type RateLimitedDetails,
  type ServerFrame,
} from '@parley/protocol';
import type { BlobService } from '../blobs/blob-service.ts';
import { ServerError } from '../errors.ts';
import type { KeyDirectory } from '../kt/directory.ts';
import type { Limits } from '../options.ts';
import type { AccountRow, Storage } from '../store/storage.ts';
import type { Args } from './args.ts';
import type { DeviceLink, Hub } from './hub.ts';
import type { LinkChannels } from './link-channels.ts';
import type { BucketMap } from './rate-limit.ts';
import type { SourceLimits } from './source-limits.ts';

/** Stored integer for each delivery kind. */
export const KIND_CODES: Record<DeliveryKind, number> = { initial: 1, ratchet: 2, retry: 3, group: 4, welcome: 5 };
/** Delivery kind for each stored integer. */
export const KIND_NAMES: Record<number, DeliveryKind> = {
  1: 'initial',
  2: 'ratchet',
  3: 'retry',
  4: 'group',
  5: 'welcome',
};

/** Per-connection state the ops read and change. */
export interface ConnectionState {
  nonce: Uint8Array;
  authFailures: number;
  auth: { account: string; device: number } | undefined;
  link: DeviceLink | undefined;
  /** Run once the current request's answer has been sent. */
  afterResponse: (() => void)[];
  /** The link channel this (new, unauthenticated) device waits on, if any. */
  linkChannel: string | undefined;
  extendHandshake(ms: number): void;
  /** The source address key limits count this socket under (`sourceKey`). */
  readonly source: string;
  /** Frees this socket's unauthenticated slot (on auth or register; idempotent). */
  releaseUnauthenticated(): void;
  /** Frees this socket's link-channel slot, if it holds one. */
  releaseLink: (() => void) | undefined;
}

/** What every operation may use. */
export interface OpContext {
  readonly storage: Storage;
  readonly hub: Hub;
  readonly provider: CryptoProvider;
  readonly limits: Limits;
  readonly clock: () => number;
  readonly inviteOnly: boolean;
  readonly accountLimits: {
    sends: BucketMap;
    fetches: BucketMap;
    targetFetches: { byRequester: BucketMap; total: BucketMap; notified: Map<string, number> };
  };
  readonly links: LinkChannels;
  readonly sources: SourceLimits;
  /** Attachment blobs (`blob-slot`). */
  readonly blobs: BlobService;
  /** The key-transparency directory (issue 20). */
  readonly kt: KeyDirectory;
  readonly conn: ConnectionState;
  send(frame: ServerFrame): void;
  becomeAuthenticated(account: string, device: number): void;
}

/** A result that is ready later (a send waits for its batch to commit) without holding up the next request. */
export class Deferred<T = unknown> {
  constructor(readonly later: Promise<T>) {}
}

/** The calling device, or NOT_AUTHENTICATED. */
export function requireAuth(ctx: OpContext): { account: string; device: number } {
  if (ctx.conn.auth === undefined) throw new ServerError('NOT_AUTHENTICATED', 'authenticate first');
  return ctx.conn.auth;
}

/**
 * The per-target fetch limits (issue 19 §8) for `requester` fetching `target`'s keys: RATE_LIMITED
 * past the requester's share; past the target's total, answers `spare` (serve no one-time key)
 * and tells the target's devices, at most once per `drainNoticeMs` each.
 */
export function targetFetchLimit(
  ctx: OpContext,
  requester: string,
  target: string,
  stock: 'prekeys' | 'key-packages',
  devices: readonly number[],
): 'take' | 'spare' {
  if (requester === target) return 'take';
  const now = ctx.clock();
  const { byRequester, total, notified: drainNotices } = ctx.accountLimits.targetFetches;
  const wait = byRequester.take(`${stock}\u0000${requester}\u0000${target}`, now);
  if (wait > 0) {
    throw new ServerError('RATE_LIMITED', 'too many fetches of that account’s keys from this account', {
      retryAfterMs: wait,
    });
  }
  if (total.take(`${stock}\u0000${target}`, now) === 0) return 'take';
  for (const device of devices) {
    const key = `${stock}\u0000${target}\u0000${device}`;
    const last = drainNotices.get(key);
    if (last !== undefined && now - last < ctx.limits.drainNoticeMs) continue;
    if (drainNotices.size >= MAX_DRAIN_NOTICES) drainNotices.clear();
    drainNotices.set(key, now);
    ctx.hub.notify(target, device, { type: 'stock-drained', stock });
  }
  return 'spare';
}

/** Most remembered `stock-drained` notices (the map is cleared when full). */
const MAX_DRAIN_NOTICES = 100_000;

/** Takes a token from the account's bucket, or RATE_LIMITED with a retry hint. */
export function rateLimit(bucket: BucketMap, account: string, now: number, what: string): void {
  const wait = bucket.take(account, now);
  if (wait > 0)
    throw new ServerError('RATE_LIMITED', `too many ${what} for this account`, {
      retryAfterMs: wait,
    } satisfies RateLimitedDetails);
}

/** Reads `args.messageId`: the sender's transport id for a send, 8–64 characters of [A-Za-z0-9_-]. */
export function readMessageId(a: Args): string {
  const messageId = a.string('messageId', MESSAGE_ID_MAX_LENGTH);
  if (!MESSAGE_ID_PATTERN.test(messageId)) {
    throw new ServerError(
      'BAD_FRAME',
      `expected args.messageId of ${MESSAGE_ID_MIN_LENGTH}-${MESSAGE_ID_MAX_LENGTH} characters [A-Za-z0-9_-]`,
    );
  }
  return messageId;
}

/** The calling device's stored public identity (it may have been removed since it authenticated). */
export async function callerIdentity(ctx: OpContext, account: string, device: number): Promise<DeviceIdentityPublic> {
  const row = (await ctx.storage.listDevices(account)).find((d) => d.id === device);
  if (row === undefined) throw new ServerError('NOT_AUTHENTICATED', 'this device is no longer registered');
  return decodeDeviceIdentityPublic(row.identity);
}

/** Reads `args.name` and looks the account up (authenticated callers only), or UNKNOWN_ACCOUNT. */
export async function readAccount(a: Args, ctx: OpContext): Promise<AccountRow> {
  requireAuth(ctx);
  const name = a.accountName('name');
  const row = await ctx.storage.getAccount(name);
  if (row === undefined) throw new ServerError('UNKNOWN_ACCOUNT', 'no such account');
  return row;
}
