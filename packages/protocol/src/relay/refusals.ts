/**
 * What a relay refusal carries (docs/protocol.md §11): for each error code, the one shape of
 * its `details`, a reader that checks a received value against that shape, and the WebSocket
 * close codes the relay ends a connection with. Server and client both take these from here,
 * so a code and its details cannot drift apart between them.
 *
 * Details come from the server, which the client does not trust: `readRelayErrorDetails`
 * returns `undefined` for anything that is not exactly the documented shape, never a cast.
 */
import type { RelayErrorCode, WireGroupMember } from './frames.ts';

/** Details of a `STALE_DEVICES` error: the recipient's device set as the server holds it. */
export interface StaleDevicesDetails {
  /** The account whose list is stale (group delivery lists name it; `send` leaves it out). */
  readonly name?: string;
  readonly devices: number[];
  readonly missing: number[];
  readonly extra: number[];
  /** Devices whose identity is not the one the sender encrypted for. */
  readonly changed?: number[];
}

/** Details of a `RATE_LIMITED` error: when the account's (or connection's) bucket has a token again. */
export interface RateLimitedDetails {
  readonly retryAfterMs: number;
}

/**
 * Details of a `QUEUE_FULL` error: whose queue is full, and which cap: `queue` when a device's
 * whole queue is full, `sender-share` when the sending account already holds its fair share of
 * it (others may still get in). A `send` names the recipient's devices, a group operation the
 * members (account and devices). The server gives no retry hint: space frees as the device
 * takes its messages.
 */
export interface QueueFullDetails {
  readonly devices?: number[];
  readonly members?: WireGroupMember[];
  readonly reason?: QueueFullReason;
}

/**
 * Details of a `STORAGE_UNAVAILABLE` error: the server could not write (its disk is full, or its
 * database failed an I/O), so nothing of the request was stored. Retryable: the same request,
 * sent again after `retryAfterMs`, is stored once storage works again (sends are idempotent by
 * message id). `reason` is `full` (no space) or `io` (any other storage failure).
 */
export interface StorageUnavailableDetails {
  readonly retryAfterMs: number;
  readonly reason: 'full' | 'io';
}

/** Which cap a `QUEUE_FULL` met (see `QueueFullDetails`). */
export type QueueFullReason = 'queue' | 'sender-share';

/** Details of an `EPOCH_MOVED` error: the epoch the server holds for the group. */
export interface EpochMovedDetails {
  readonly epoch: number;
}

/** Details of an `UNKNOWN_ACCOUNT` error from a group operation: the listed account that does not exist. */
export interface UnknownAccountDetails {
  readonly name: string;
}

/** Details of a `BAD_FRAME` error from `upload-key-packages`: how many KeyPackages the device has stored. */
export interface TooManyKeyPackagesDetails {
  readonly keyPackages: number;
}

/** Details of a `NAME_CONFUSABLE` error: the skeleton the name shares with an existing account. */
export interface NameConfusableDetails {
  readonly skeleton: string;
}

/**
 * Details of a `NOT_INVITED` error: the devices a commit listed that are not on the group's
 * delivery list yet and whose KeyPackage was not handed to the committing device.
 */
export interface NotInvitedDetails {
  readonly members: WireGroupMember[];
}

/** Details of an `ATTACHMENT_TOO_LARGE` error: the largest blob size the server takes. */
export interface AttachmentTooLargeDetails {
  readonly maxBlobBytes: number;
}

/** Details of a `QUOTA_EXCEEDED` error: what the account's blobs hold and may hold, in bytes. */
export interface QuotaExceededDetails {
  readonly usedBytes: number;
  readonly quotaBytes: number;
}

/** The details type of each relay error code (`undefined`: the code carries none). */
export interface RelayErrorDetails {
  BAD_FRAME: TooManyKeyPackagesDetails;
  FRAME_TOO_LARGE: undefined;
  UNKNOWN_VERSION: undefined;
  UNKNOWN_OP: undefined;
  NOT_AUTHENTICATED: undefined;
  ALREADY_AUTHENTICATED: undefined;
  AUTH_FAILED: undefined;
  HANDSHAKE_TIMEOUT: undefined;
  INVALID_NAME: undefined;
  NAME_TAKEN: undefined;
  INVITE_REQUIRED: undefined;
  INVALID_SIGNATURE: undefined;
  INVALID_KEY: undefined;
  UNKNOWN_ACCOUNT: UnknownAccountDetails;
  STALE_DEVICES: StaleDevicesDetails;
  MESSAGE_TOO_LARGE: undefined;
  QUEUE_FULL: QueueFullDetails;
  RATE_LIMITED: RateLimitedDetails;
  NO_PREKEYS: undefined;
  SHUTTING_DOWN: undefined;
  UNKNOWN_CHANNEL: undefined;
  STALE_DEVICE_LIST: undefined;
  NO_KEY_PACKAGES: undefined;
  INVALID_KEY_PACKAGE: undefined;
  GROUP_EXISTS: undefined;
  UNKNOWN_GROUP: undefined;
  NOT_A_MEMBER: undefined;
  EPOCH_MOVED: EpochMovedDetails;
  NOT_INVITED: NotInvitedDetails;
  NAME_CONFUSABLE: NameConfusableDetails;
  ATTACHMENT_TOO_LARGE: AttachmentTooLargeDetails;
  QUOTA_EXCEEDED: QuotaExceededDetails;
  STORAGE_UNAVAILABLE: StorageUnavailableDetails;
  KT_UNAVAILABLE: undefined;
  INTERNAL: undefined;
}

// Every error code has an entry above, and nothing else does (a new code fails to compile here).
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const detailsCoverEveryCode: Exact<keyof RelayErrorDetails, RelayErrorCode> = true;
void detailsCoverEveryCode;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isMs = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isIds = (v: unknown): v is number[] => Array.isArray(v) && v.every(isCount);
const isMembers = (v: unknown): v is WireGroupMember[] =>
  Array.isArray(v) && v.every((m) => isRecord(m) && typeof m.name === 'string' && isIds(m.devices));

/** Shape checks by code; a code without one carries no details. */
const READERS: { readonly [C in RelayErrorCode]?: (v: unknown) => boolean } = {
  BAD_FRAME: (v) => isRecord(v) && isCount(v.keyPackages),
  UNKNOWN_ACCOUNT: (v) => isRecord(v) && typeof v.name === 'string',
  STALE_DEVICES: (v) =>
    isRecord(v) &&
    (v.name === undefined || typeof v.name === 'string') &&
    isIds(v.devices) &&
    isIds(v.missing) &&
    isIds(v.extra) &&
    (v.changed === undefined || isIds(v.changed)),
  QUEUE_FULL: (v) =>
    isRecord(v) &&
    (v.devices === undefined || isIds(v.devices)) &&
    (v.members === undefined || isMembers(v.members)) &&
    (v.reason === undefined || v.reason === 'queue' || v.reason === 'sender-share'),
  RATE_LIMITED: (v) => isRecord(v) && isMs(v.retryAfterMs),
  EPOCH_MOVED: (v) => isRecord(v) && isCount(v.epoch),
  NOT_INVITED: (v) => isRecord(v) && isMembers(v.members),
  NAME_CONFUSABLE: (v) => isRecord(v) && typeof v.skeleton === 'string',
  ATTACHMENT_TOO_LARGE: (v) => isRecord(v) && isCount(v.maxBlobBytes),
  QUOTA_EXCEEDED: (v) => isRecord(v) && isCount(v.usedBytes) && isCount(v.quotaBytes),
  STORAGE_UNAVAILABLE: (v) => isRecord(v) && isMs(v.retryAfterMs) && (v.reason === 'full' || v.reason === 'io'),
};

/**
 * The details of a refusal with `code`, if `value` has exactly the shape that code documents;
 * otherwise `undefined` (a server may leave them out, and a hostile one may send anything).
 */
export function readRelayErrorDetails<C extends RelayErrorCode>(
  code: C,
  value: unknown,
): RelayErrorDetails[C] | undefined {
  const read = READERS[code];
  return read?.(value) === true ? (value as RelayErrorDetails[C]) : undefined;
}

/** WebSocket close codes the relay uses (4000–4999 are application codes; 1001 is "going away"). */
export const RELAY_CLOSE_CODES = {
  /** No `auth` or `register` arrived in time. */
  handshakeTimeout: 4000,
  tooManyAuthFailures: 4001,
  /** A newer connection of the same device replaced this one. */
  replaced: 4002,
  /** This device was removed from its account. */
  deviceRemoved: 4003,
  shuttingDown: 1001,
} as const;
