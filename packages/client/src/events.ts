/**
 * The SDK's one stream of events (STYLE.md §8): every subscriber gets its own async iterator,
 * fed from the moment it subscribed. Events are emitted only after what they report is
 * persisted locally.
 */

/** A received or sent text message as stored in the history. */
export interface StoredMessage {
  readonly id: string;
  /** The conversation: the other account. */
  readonly peer: string;
  /** `system`: a note the client recorded in the conversation (e.g. a safety-number change). */
  readonly direction: 'in' | 'out' | 'system';
  readonly sender: string;
  readonly senderDevice: number;
  readonly text: string;
  /** Sender's clock (ms). */
  readonly sentAt: number;
  readonly receivedAt: number | undefined;
  /**
   * Outgoing: `pending` → `sent` (the server stored it) → `delivered` (a device of the recipient
   * decrypted it) → `read` (the recipient was shown it); receipts only move it forward.
   */
  readonly status: 'pending' | 'sent' | 'delivered' | 'read' | 'failed' | 'received';
}

/** A conversation in the list: its last line and how many incoming messages are unread. */
export interface ConversationSummary {
  /** The other account, or `group:ID`. */
  readonly peer: string;
  readonly last: StoredMessage;
  readonly unread: number;
}

/** A `messages` table row as a `StoredMessage`. */
export function storedMessageFromRow(r: Record<string, unknown>): StoredMessage {
  return {
    id: r.id as string,
    peer: r.peer as string,
    direction: r.direction as StoredMessage['direction'],
    sender: r.sender as string,
    senderDevice: r.sender_device as number,
    text: r.text as string,
    sentAt: r.sent_at as number,
    receivedAt: (r.received_at as number | null) ?? undefined,
    status: r.status as StoredMessage['status'],
  };
}

/** Everything the SDK reports. */
export type ClientEvent =
  | { readonly type: 'message'; readonly message: StoredMessage }
  | { readonly type: 'sent'; readonly id: string; readonly to: string }
  /** `peer` says these messages of ours reached (`delivered`) or were shown to (`read`) them. */
  | {
      readonly type: 'receipt';
      readonly peer: string;
      readonly status: 'delivered' | 'read';
      readonly ids: readonly string[];
    }
  | { readonly type: 'send-failed'; readonly id: string; readonly to: string; readonly reason: string }
  /** A contact's account key changed; sending to them is paused until `acceptIdentity`. */
  | { readonly type: 'identity-changed'; readonly name: string; readonly verified: boolean }
  /** A message could not be decrypted; a retry request went to its sender. */
  | { readonly type: 'undecryptable'; readonly from: string; readonly fromDevice: number }
  /** A message from a device that is not on the sender's signed device list was dropped. */
  | { readonly type: 'unlisted-device'; readonly from: string; readonly fromDevice: number }
  | {
      readonly type: 'connection';
      readonly state: 'connecting' | 'connected' | 'disconnected' | 'replaced' | 'removed';
    }
  /** This device joined a group through a Welcome. */
  | { readonly type: 'group-joined'; readonly group: string; readonly name: string }
  /** A member's commit changed the group (membership, metadata or keys). */
  | {
      readonly type: 'group-updated';
      readonly group: string;
      readonly epoch: number;
      readonly by: string;
      readonly added: readonly string[];
      readonly removed: readonly string[];
    }
  /** A commit removed this device from the group. */
  | { readonly type: 'group-removed'; readonly group: string; readonly by: string }
  /** A group message, commit or Welcome was refused (forged, replayed, not allowed, unreadable). */
  | {
      readonly type: 'group-rejected';
      readonly group: string | undefined;
      readonly from: string;
      readonly reason: string;
    }
  /** Everything queued for this device before it connected has been processed. */
  | { readonly type: 'drained' }
  /**
   * The server says this device's one-time prekeys or KeyPackages are being fetched faster than
   * its per-target limit allows (someone may be draining them); the stock is being refilled.
   */
  | { readonly type: 'stock-drained'; readonly stock: 'prekeys' | 'key-packages' };

/** Fan-out of events to subscribers. */
export interface EventHub {
  emit(event: ClientEvent): void;
  subscribe(signal?: AbortSignal): AsyncIterableIterator<ClientEvent>;
  end(): void;
}

/** Creates an event hub. */
export function createEventHub(): EventHub {
  const subscribers = new Set<{ push(e: ClientEvent | undefined): void }>();
  let ended = false;
  return {
    emit(event) {
      for (const s of subscribers) s.push(event);
    },
    end() {
      ended = true;
      for (const s of subscribers) s.push(undefined);
    },
    subscribe(signal) {
      const buffered: (ClientEvent | undefined)[] = [];
      let wake: (() => void) | undefined;
      const sub = {
        push(e: ClientEvent | undefined) {
          buffered.push(e);
          wake?.();
        },
      };
      subscribers.add(sub);
      if (ended) sub.push(undefined);
      const onAbort = () => sub.push(undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (): IteratorReturnResult<undefined> => {
        subscribers.delete(sub);
        signal?.removeEventListener('abort', onAbort);
        return { done: true, value: undefined };
      };
      const iterator: AsyncIterableIterator<ClientEvent> = {
        async next() {
          while (buffered.length === 0) await new Promise<void>((r) => (wake = r));
          wake = undefined;
          const e = buffered.shift();
          return e === undefined ? finish() : { done: false, value: e };
        },
        async return() {
          // Also ends a `next()` that is waiting right now.
          sub.push(undefined);
          return finish();
        },
        [Symbol.asyncIterator]() {
          return iterator;
        },
      };
      return iterator;
    },
  };
}
