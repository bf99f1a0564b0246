/**
 * How a batch of sends crosses to the storage thread and its outcomes come back.
 *
 * `postMessage` clones objects key by key, and clones the whole backing buffer of each byte view
 * (a decoded 200-byte body is a view into an 8 KiB pool): profiled at 7 % of the event loop's
 * time at 1,000 connections. So a batch travels as columns of strings and numbers, with every
 * body copied into one buffer that is transferred, not cloned; and a queued send's outcome comes
 * back as its seqs alone (the caller still holds the addresses, in the same order). A group
 * message (`sharedBody`) crosses with its body once: the other messages carry none.
 */
import type { DeviceAddress, QueuedAt, QueueFullReason, SendBatchItem, SendOutcome } from './storage.ts';

/** The arguments of `MessageQueue.enqueue`, in columns. */
export interface EnqueueColumns {
  readonly senders: string[];
  readonly senderDevices: number[];
  readonly messageIds: string[];
  /** Messages per item. */
  readonly counts: number[];
  /** Per item: 1 when its messages share the first one's body (`SendBatchItem.sharedBody`). */
  readonly shared: number[];
  /** Per item: its own expiry (`SendBatchItem.expiresAt`), or 0 for none. */
  readonly expiries: number[];
  readonly accounts: string[];
  readonly devices: number[];
  readonly kinds: number[];
  /** End offset of each body in `bodies`. */
  readonly bodyEnds: Uint32Array;
  readonly bodies: Uint8Array;
  readonly ackAccounts: string[];
  readonly ackDevices: number[];
  /** Seqs per acknowledgement entry. */
  readonly ackCounts: number[];
  readonly ackSeqs: number[];
}

/** An acknowledgement entry as `enqueue` takes it. */
type Ack = { account: string; device: number; seqs: readonly number[] };

/** Packs `items` and `acks`; transfer `[columns.bodies.buffer, columns.bodyEnds.buffer]`. */
export function encodeEnqueue(items: readonly SendBatchItem[], acks: readonly Ack[]): EnqueueColumns {
  let total = 0;
  let messages = 0;
  for (const item of items) {
    messages += item.messages.length;
    if (item.sharedBody === true) total += item.messages[0]?.body.byteLength ?? 0;
    else for (const m of item.messages) total += m.body.byteLength;
  }
  const c: EnqueueColumns = {
    senders: [],
    senderDevices: [],
    messageIds: [],
    counts: [],
    shared: [],
    expiries: [],
    accounts: [],
    devices: [],
    kinds: [],
    bodyEnds: new Uint32Array(messages),
    bodies: new Uint8Array(total),
    ackAccounts: [],
    ackDevices: [],
    ackCounts: [],
    ackSeqs: [],
  };
  let offset = 0;
  let k = 0;
  for (const item of items) {
    c.senders.push(item.sender);
    c.senderDevices.push(item.senderDevice);
    c.messageIds.push(item.messageId);
    c.counts.push(item.messages.length);
    const shared = item.sharedBody === true;
    c.shared.push(shared ? 1 : 0);
    c.expiries.push(item.expiresAt ?? 0);
    item.messages.forEach((m, j) => {
      c.accounts.push(m.account);
      c.devices.push(m.device);
      c.kinds.push(m.kind);
      if (!shared || j === 0) {
        c.bodies.set(m.body, offset);
        offset += m.body.byteLength;
      }
      c.bodyEnds[k++] = offset;
    });
  }
  for (const a of acks) {
    c.ackAccounts.push(a.account);
    c.ackDevices.push(a.device);
    c.ackCounts.push(a.seqs.length);
    for (const s of a.seqs) c.ackSeqs.push(s);
  }
  return c;
}

/** Unpacks what `encodeEnqueue` packed (bodies are views into the one transferred buffer). */
export function decodeEnqueue(c: EnqueueColumns): { items: SendBatchItem[]; acks: Ack[] } {
  const items: SendBatchItem[] = [];
  let k = 0;
  let start = 0;
  for (let i = 0; i < c.senders.length; i++) {
    const messages = [];
    const shared = c.shared[i] === 1;
    let body: Uint8Array | undefined;
    for (let j = 0; j < (c.counts[i] as number); j++, k++) {
      const end = c.bodyEnds[k] as number;
      if (body === undefined || !shared) body = c.bodies.subarray(start, end);
      messages.push({
        account: c.accounts[k] as string,
        device: c.devices[k] as number,
        kind: c.kinds[k] as number,
        body,
      });
      start = end;
    }
    items.push({
      sender: c.senders[i] as string,
      senderDevice: c.senderDevices[i] as number,
      messageId: c.messageIds[i] as string,
      messages,
      ...(shared ? { sharedBody: true } : {}),
      ...((c.expiries[i] ?? 0) > 0 ? { expiresAt: c.expiries[i] as number } : {}),
    });
  }
  const acks: Ack[] = [];
  let s = 0;
  for (let i = 0; i < c.ackAccounts.length; i++) {
    const n = c.ackCounts[i] as number;
    acks.push({
      account: c.ackAccounts[i] as string,
      device: c.ackDevices[i] as number,
      seqs: c.ackSeqs.slice(s, s + n),
    });
    s += n;
  }
  return { items, acks };
}

/** One outcome on the wire: the seqs of a queued send, null for a duplicate, or the full devices. */
export type EncodedOutcome =
  | number[]
  | null
  | { readonly full: readonly DeviceAddress[]; readonly reason: QueueFullReason };

export function encodeOutcomes(outcomes: readonly SendOutcome[]): EncodedOutcome[] {
  return outcomes.map((o) =>
    o.status === 'queued'
      ? o.seqs.map((q) => q.seq)
      : o.status === 'duplicate'
        ? null
        : { full: o.devices, reason: o.reason },
  );
}

/** Rebuilds the outcomes of `items` (queued seqs are in the order of each item's messages). */
export function decodeOutcomes(items: readonly SendBatchItem[], encoded: readonly EncodedOutcome[]): SendOutcome[] {
  return encoded.map((e, i): SendOutcome => {
    if (e === null) return { status: 'duplicate' };
    if (!Array.isArray(e)) return { status: 'queue-full', devices: e.full, reason: e.reason };
    const messages = (items[i] as SendBatchItem).messages;
    const seqs: QueuedAt[] = e.map((seq, j) => {
      const m = messages[j] as DeviceAddress;
      return { account: m.account, device: m.device, seq };
    });
    return { status: 'queued', seqs };
  });
}
