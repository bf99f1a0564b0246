/**
 * The queue caps both stores apply (docs/operating.md, "Limits"): a device's whole queue, in
 * messages and bytes, and the share of it one sending account may hold, so a few throwaway
 * accounts cannot fill a device's queue and silence everyone else who writes to it.
 */
import type { QueueCaps, QueueFullReason } from './storage.ts';

/** Messages, and the bytes of their bodies, in one queue (or one sender's part of it). */
export interface QueueDepth {
  readonly messages: number;
  readonly bytes: number;
}

const EMPTY_DEPTH: QueueDepth = { messages: 0, bytes: 0 };

/**
 * Why one more message of `bytes` would not fit: the device's queue (at `device`) is full, or the
 * sender's part of it (at `sender`; undefined when the sender is not held to a share) is at its
 * share. Undefined when it fits.
 */
export function queueCapReason(
  device: QueueDepth | undefined,
  sender: QueueDepth | undefined,
  bytes: number,
  caps: QueueCaps,
): QueueFullReason | undefined {
  const d = device ?? EMPTY_DEPTH;
  if (d.messages >= caps.messages || d.bytes + bytes > caps.bytes) return 'queue';
  if (sender === undefined) return undefined;
  if (caps.senderMessages !== undefined && sender.messages >= caps.senderMessages) return 'sender-share';
  if (caps.senderBytes !== undefined && sender.bytes + bytes > caps.senderBytes) return 'sender-share';
  return undefined;
}

/** Whether `sender` is held to a share of `account`'s queues: only other accounts are. */
export function heldToShare(sender: string, account: string, caps: QueueCaps): boolean {
  return sender !== account && (caps.senderMessages !== undefined || caps.senderBytes !== undefined);
}

/** The reason a refusal of several devices gives: 'queue' if any whole queue is full. */
export function overallReason(reasons: readonly QueueFullReason[]): QueueFullReason {
  return reasons.includes('queue') ? 'queue' : 'sender-share';
}
