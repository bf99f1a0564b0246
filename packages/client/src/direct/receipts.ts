/**
 * Receipts (docs/protocol.md §12): delivery receipts owed are gathered per sender while the
 * inbox works and queued as one receipt per sender once it is idle; read receipts go out when a
 * conversation is marked read. Receipts from others only ever move our messages forward.
 */
import { MAX_RECEIPT_IDS, type ReceiptContent } from '../content.ts';
import type { EventHub } from '../events.ts';
import { parsePeer } from '../peer.ts';
import type { DirectOutbox } from './outbox.ts';
import type { DirectStore } from './store.ts';

/** What receipts need. */
export interface ReceiptsDeps {
  readonly store: DirectStore;
  readonly outbox: DirectOutbox;
  readonly events: EventHub;
  readonly clock: () => number;
  /** Whether to send delivery and read receipts (receipts from others are always applied). */
  readonly enabled: () => boolean;
  newId(): string;
  me(): string;
  /** Runs the outbox after receipts were queued. */
  flush(): void;
}

/** Receipts, sent and received. */
export interface Receipts {
  /** Notes that message `id` from `from` was stored (a delivery receipt is owed, if enabled). */
  delivered(from: string, id: string): void;
  /** Queues the delivery receipts owed (call once the inbox is idle). */
  flushDelivered(): void;
  /** Applies a receipt from `from` to our messages to them; receipts from our own devices are ignored. */
  apply(from: string, r: ReceiptContent): void;
  /** Marks a conversation read up to its last line; queues read receipts for a one-to-one conversation. */
  markRead(peer: string): void;
}

/** Creates the receipts part. */
export function createReceipts(deps: ReceiptsDeps): Receipts {
  const { store, outbox, events } = deps;
  /** Delivery receipts owed, by sender. */
  const owed = new Map<string, string[]>();

  const queueReceipt = (to: string, receipt: ReceiptContent['receipt'], ids: readonly string[]): void => {
    for (let i = 0; i < ids.length; i += MAX_RECEIPT_IDS) {
      const content: ReceiptContent = {
        v: 1,
        id: deps.newId(),
        ts: deps.clock(),
        receipt,
        ids: ids.slice(i, i + MAX_RECEIPT_IDS),
      };
      outbox.queue(content, to, null);
    }
  };

  return {
    delivered(from, id) {
      if (deps.enabled()) owed.set(from, [...(owed.get(from) ?? []), id]);
    },
    flushDelivered() {
      if (owed.size === 0) return;
      store.transaction(() => {
        for (const [to, ids] of owed) queueReceipt(to, 'delivered', ids);
      });
      owed.clear();
      deps.flush();
    },
    apply(from, r) {
      const me = deps.me();
      if (from === me) return;
      const changed = r.ids.filter((id) => store.advance(me, id, from, r.receipt));
      if (changed.length > 0) events.emit({ type: 'receipt', peer: from, status: r.receipt, ids: changed });
    },
    markRead(peer) {
      const last = store.lastRow(peer);
      if (last === undefined) return;
      const before = store.readRow(peer);
      if (last <= before) return;
      store.transaction(() => {
        store.setReadRow(peer, last);
        // Read receipts for one-to-one conversations; group messages get none.
        const conversation = parsePeer(peer);
        if (deps.enabled() && conversation.kind === 'account') {
          const ids = store.unreadIds(peer, conversation.name, before);
          if (ids.length > 0) queueReceipt(conversation.name, 'read', ids);
        }
      });
      deps.flush();
    },
  };
}
