/**
 * The one answer to "what now?" after a send failed, shared by every outbox (one-to-one and
 * group): wait for the connection, try again later, wait for the user, or give up.
 */
import { ClientError, isClientError, isRelayRefusal } from '../errors.ts';

/** What a failed send means for the message that is still in the outbox. */
export type SendErrorClass =
  /** Not connected (or the client closed): leave it queued; the next connection sends it. */
  | { readonly kind: 'offline' }
  /**
   * Transient on a live connection: try again after `ms` (the server's hint), or after the
   * runner's own backoff when `ms` is undefined. Sends are idempotent by message id on the
   * relay, so repeating one whose answer was lost stores it once.
   */
  | {
      readonly kind: 'retry-after';
      readonly ms: number | undefined;
      /** The condition may last (a full disk): whoever waits on the message is told now; it stays queued. */
      readonly tell?: true;
    }
  /** Waiting for the user (a contact's key changed): leave it queued, tell the caller now. */
  | { readonly kind: 'blocked' }
  /**
   * Waiting for space (QUEUE_FULL: a recipient device's queue is full, or this account holds its
   * share of it): leave it queued and try again after the backoff, and tell the caller now, so
   * nobody waits in silence for a recipient who may take days to come back.
   */
  | { readonly kind: 'delayed' }
  /** Refused for good: mark the message failed and drop it from the outbox. */
  | { readonly kind: 'fatal' };

/** Classifies an error thrown while sending one outbox entry. */
export function classifySendError(err: unknown): SendErrorClass {
  if (isClientError(err, 'SERVER_UNREACHABLE') || isClientError(err, 'CLOSED')) return { kind: 'offline' };
  // The server is going away: its connection closes next and the reconnect sends it; should it
  // stay open, the backoff tries again.
  if (isRelayRefusal(err, 'SHUTTING_DOWN')) return { kind: 'retry-after', ms: undefined };
  // The request was sent but no answer came in time, on a connection that may still be up.
  if (isClientError(err, 'TIMEOUT')) return { kind: 'retry-after', ms: undefined };
  if (isRelayRefusal(err, 'RATE_LIMITED')) return { kind: 'retry-after', ms: err.details?.retryAfterMs };
  // Nothing was stored (the server's disk is full or its database failed): the same send,
  // repeated once storage works again, is stored once.
  if (isRelayRefusal(err, 'STORAGE_UNAVAILABLE'))
    return { kind: 'retry-after', ms: err.details?.retryAfterMs, tell: true };
  if (isRelayRefusal(err, 'QUEUE_FULL')) return { kind: 'delayed' };
  if (isClientError(err, 'UNTRUSTED_IDENTITY')) return { kind: 'blocked' };
  return { kind: 'fatal' };
}

/**
 * The QUEUED error a caller waiting on a message refused with QUEUE_FULL gets at once: the
 * message stays in the outbox. Its `relayCode` and `details` are the refusal's.
 */
export function queueFullError(err: unknown, to: string): ClientError {
  const details = isRelayRefusal(err, 'QUEUE_FULL') ? err.details : undefined;
  const whose =
    details?.reason === 'sender-share'
      ? `this account already has its share of ${to}’s queue on the server waiting`
      : `${to}’s queue on the server is full`;
  return new ClientError('QUEUED', `not sent yet: ${whose}; the message stays queued and is sent once there is room`, {
    relayCode: 'QUEUE_FULL',
    details,
    cause: err,
  });
}

/**
 * Which cap a QUEUE_FULL refusal met (a recipient device's whole queue, or this account's share
 * of it), for the refusal itself or the QUEUED error `queueFullError` made of it; undefined for
 * any other error, or when the server did not say.
 */
export function queueFullCap(err: unknown): 'queue' | 'sender-share' | undefined {
  if (isClientError(err, 'QUEUED') && err.relayCode === 'QUEUE_FULL') return queueFullCap(err.cause);
  return isRelayRefusal(err, 'QUEUE_FULL') ? err.details?.reason : undefined;
}
