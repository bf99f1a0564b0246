/**
 * The SDK's one stream of events (STYLE.md §8): every subscriber gets its own async iterator,
 * fed from the moment it subscribed. Events are emitted only after what they report is
 * persisted locally.
 */
import type { ReceivedAttachment } from './attachments/received.ts';
import type { ContentRejection } from './content.ts';
import type { ConversationRejection, ReactionCount } from './conversation/rejections.ts';

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
   * `held`: not sent, because the recipient's account key changed; it waits for the user to
   * accept the change (`acceptChange`), verify (`markVerified`) or discard it (`discardHeld`).
   */
  readonly status: 'pending' | 'held' | 'sent' | 'delivered' | 'read' | 'failed' | 'received';
  /**
   * `unsupported`: content of a later version of Parley, which this one cannot read; `text` says
   * "This message needs a newer version of Parley".
   */
  readonly kind: 'text' | 'unsupported';
  /** Set on a reply: the quoted message's id, sender and the start of its text. */
  readonly replyTo?: { readonly id: string; readonly sender: string; readonly snippet: string };
  /** When its sender last edited it (sender's clock, ms). */
  readonly editedAt?: number;
  /** Deleted for everyone (a tombstone: `text` is empty). */
  readonly deleted: boolean;
}

/** A conversation in the list: its last line and how many incoming messages are unread. */
export interface ConversationSummary {
  /** The conversation id: the other account, or a group's (`parsePeer` tells which). */
  readonly peer: string;
  readonly last: StoredMessage;
  readonly unread: number;
  /** Archived: kept out of the main list (CLI: `parley conversations --archived`). */
  readonly archived: boolean;
  /** Muted: new messages raise no notification. */
  readonly muted: boolean;
  /** Pinned: listed before the others. */
  readonly pinned: boolean;
  /** A one-to-one conversation whose contact is blocked (their messages are dropped on receipt). */
  readonly blocked: boolean;
}

/** What `conversation-changed` reports. */
export type ConversationChange =
  | 'archived'
  | 'unarchived'
  | 'muted'
  | 'unmuted'
  | 'pinned'
  | 'unpinned'
  | 'blocked'
  | 'unblocked'
  | 'forgotten';

/** A row of the `messages` table (one-to-one and group lines alike). */
export interface MessageRow {
  readonly row: number;
  readonly id: string;
  readonly peer: string;
  readonly direction: StoredMessage['direction'];
  readonly sender: string;
  readonly sender_device: number;
  readonly text: string;
  readonly sent_at: number;
  readonly received_at: number | null;
  readonly status: StoredMessage['status'];
  readonly kind: StoredMessage['kind'];
  readonly reply_id: string | null;
  readonly reply_from: string | null;
  readonly reply_snip: string | null;
  readonly edited_at: number | null;
  readonly deleted_at: number | null;
}

/** A `messages` table row as a `StoredMessage`. */
export function storedMessageFromRow(r: MessageRow): StoredMessage {
  return {
    id: r.id,
    peer: r.peer,
    direction: r.direction,
    sender: r.sender,
    senderDevice: r.sender_device,
    text: r.text,
    sentAt: r.sent_at,
    receivedAt: r.received_at ?? undefined,
    status: r.status,
    kind: r.kind === 'unsupported' ? 'unsupported' : 'text',
    ...(r.reply_id !== null && r.reply_from !== null
      ? { replyTo: { id: r.reply_id, sender: r.reply_from, snippet: r.reply_snip ?? '' } }
      : {}),
    ...(r.edited_at !== null ? { editedAt: r.edited_at } : {}),
    deleted: r.deleted_at !== null,
  };
}

/**
 * Something went wrong in the background that no caller is waiting for (a refill, a resumed
 * commit, a delivery that will come again). The client goes on; these say what it skipped.
 */
export type WarningCode =
  /** Topping up one-time prekeys on the server failed; tried again on the next connection or `keys-low`. */
  | 'PREKEY_REFILL_FAILED'
  /** Topping up MLS KeyPackages failed; tried again on the next connection or `key-packages-low`. */
  | 'KEY_PACKAGE_REFILL_FAILED'
  /** A delivery could not be processed; it is not acknowledged, so the server delivers it again. */
  | 'DELIVERY_NOT_PROCESSED'
  /** A held message could not be released; it stays held and is tried again on the next accept. */
  | 'HELD_RELEASE_FAILED'
  /** A pass of an outbox failed; the messages stay queued for the next pass. */
  | 'OUTBOX_FAILED'
  /** Work on groups after (re)connecting (resubmitting a commit, a periodic key update) failed. */
  | 'GROUP_RESUME_FAILED'
  /** Adding or removing this account's own devices in its groups failed; tried again on the next connection. */
  | 'GROUP_DEVICE_SYNC_FAILED'
  /** Committing the removal of a member who announced leaving failed; another member may commit it. */
  | 'GROUP_REMOVAL_FAILED'
  /** Deleting expired disappearing messages failed; tried again at the next sweep. */
  | 'EXPIRY_FAILED'
  /** Saving the home before closing failed; the last changes may be lost. */
  | 'SAVE_FAILED'
  /** Key transparency self-monitoring could not run (server unreachable, no answer); tried again on the next connect or hour. */
  | 'DIRECTORY_CHECK_FAILED';

/**
 * A short, secret-free name of what failed: a `ClientError`'s relay or client code, a
 * `ProtocolError`'s code, else the error's class name.
 */
export function warningCause(err: unknown): string {
  if (typeof err === 'object' && err !== null) {
    const e = err as { relayCode?: unknown; code?: unknown; name?: unknown };
    if (typeof e.relayCode === 'string') return e.relayCode;
    if (typeof e.code === 'string') return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return 'UNKNOWN';
}

/** Everything the SDK reports. */
export type ClientEvent =
  | { readonly type: 'message'; readonly message: StoredMessage }
  /**
   * An attachment arrived (after its `message` line): `download` it when wanted. On this
   * account's other devices too (a copy of one it sent).
   */
  | { readonly type: 'attachment'; readonly message: StoredMessage; readonly attachment: ReceivedAttachment }
  | { readonly type: 'sent'; readonly id: string; readonly to: string }
  /**
   * `by` set the conversation's disappearing-message timer (`seconds`; undefined: off), from
   * this device, another of ours, or a participant. Its system line is in the history.
   */
  | { readonly type: 'timer'; readonly peer: string; readonly seconds: number | undefined; readonly by: string }
  /** These lines of `peer`'s conversation reached their disappearing-message time and were deleted. */
  | { readonly type: 'expired'; readonly peer: string; readonly ids: readonly string[] }
  /** `peer` says these messages of ours reached (`delivered`) or were shown to (`read`) them. */
  | {
      readonly type: 'receipt';
      readonly peer: string;
      readonly status: 'delivered' | 'read';
      readonly ids: readonly string[];
    }
  | { readonly type: 'send-failed'; readonly id: string; readonly to: string; readonly reason: string }
  /**
   * The server refused a message for now: a recipient device's queue is full (`cap: 'queue'`),
   * or this account holds its fair share of it (`'sender-share'`; undefined when the server did
   * not say). The message stays in the outbox (status `pending`) and is tried again until the
   * recipient has taken some of its backlog. Emitted each time a try is refused.
   */
  | {
      readonly type: 'send-delayed';
      readonly id: string;
      readonly to: string;
      readonly reason: 'QUEUE_FULL';
      readonly cap: 'queue' | 'sender-share' | undefined;
    }
  /**
   * A contact's account key changed (the change line is already in the conversation). Sends
   * to them are held under the key-change policy until `acceptChange` or `markVerified`.
   */
  | { readonly type: 'identity-changed'; readonly name: string; readonly verified: boolean }
  /** Our message `id` to `to` was not sent: held because `to`'s account key changed (see `StoredMessage.status`). */
  | { readonly type: 'held'; readonly id: string; readonly to: string; readonly reason: string }
  /** A message could not be decrypted; a retry request went to its sender. */
  | { readonly type: 'undecryptable'; readonly from: string; readonly fromDevice: number }
  /**
   * A session was restarted at `requestedBy`'s request (a retry request after a message could not
   * be decrypted): `by: 'them'` when this device restarted its session with `requestedBy`'s
   * `device` (`peer` is the conversation: `requestedBy`, or for this account's own device the
   * conversation of the message), `'us'` when the new session from `peer`'s `device`, which this
   * device asked for, arrived. Also a system line in `peer`'s conversation. A restart nobody on
   * the account asked for may mean a copied home.
   */
  | {
      readonly type: 'session-restarted';
      readonly peer: string;
      readonly device: number;
      readonly requestedBy: string;
      readonly by: 'us' | 'them';
    }
  /**
   * Another connection authenticated with device `device`'s key (this device's, when it is ours)
   * while one was open, from another process: the key may be in use by a copy of that device's
   * home. Remove the device (`removeDevice`) if nobody opened it elsewhere.
   */
  | { readonly type: 'key-in-use'; readonly device: number; readonly thisDevice: boolean }
  /** A message from a device that is not on the sender's signed device list was dropped. */
  | { readonly type: 'unlisted-device'; readonly from: string; readonly fromDevice: number }
  /**
   * `name`'s own messages announce device list version `announced`, but the newest list the
   * server served (and this device trusts) is version `trusted`: the server may be hiding a
   * removed device. Nothing is sent to `name` until the newer list arrives (docs/protocol.md §10,
   * "Never go back").
   */
  | { readonly type: 'device-list-stale'; readonly name: string; readonly announced: number; readonly trusted: number }
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
  /**
   * Key transparency self-monitoring: the directory's entry for this account is not one this
   * account made: "the server is showing others a key that is not yours". `message` says what
   * differed; the evidence is kept (`directoryStatus()`).
   */
  | { readonly type: 'directory-mismatch'; readonly message: string; readonly epoch: number }
  /**
   * Two different signed directory heads for one epoch (one held here, one from `name`'s
   * gossip or a server answer): proof the server shows people different directories. Both heads
   * (base64url) are evidence, kept in `directoryStatus()`; sends to `name` stop.
   */
  | {
      readonly type: 'directory-split-view';
      readonly name: string | undefined;
      readonly epoch: number;
      readonly ours: string;
      readonly theirs: string;
    }
  /**
   * Key transparency: the key or device list the server served for contact `name` was taken
   * while not yet in the directory and never reached it: refused, evidence kept, sends to `name`
   * stop (`KEY_NOT_IN_DIRECTORY`).
   */
  | { readonly type: 'directory-refused'; readonly name: string; readonly message: string }
  /**
   * The directory keys were pinned on this connect rather than at registration (the account was
   * registered before the server had a directory): trust on first use. `fingerprint` is the
   * directory key (base64url), to compare with what `parley serve` printed.
   */
  | { readonly type: 'directory-pinned'; readonly tofu: boolean; readonly fingerprint: string }
  /** Everything queued for this device before it connected has been processed. */
  | { readonly type: 'drained' }
  /** The person archived, muted, pinned, blocked or forgot a conversation (or undid it), on this device. */
  | { readonly type: 'conversation-changed'; readonly peer: string; readonly change: ConversationChange }
  /**
   * The server says this device's one-time prekeys or KeyPackages are being fetched faster than
   * its per-target limit allows (someone may be draining them); the stock is being refilled.
   */
  | { readonly type: 'stock-drained'; readonly stock: 'prekeys' | 'key-packages' }
  /**
   * `by` set (`emoji`) or removed (`null`) its reaction to message `messageId` of `messageSender`
   * in `peer`; `reactions` are the message's counts now (docs/protocol.md §12.1).
   */
  | {
      readonly type: 'reaction';
      readonly peer: string;
      readonly messageId: string;
      readonly messageSender: string;
      readonly by: string;
      readonly emoji: string | null;
      readonly reactions: readonly ReactionCount[];
    }
  /** Its sender edited a message: `message` has the new text (`editedAt` set). */
  | { readonly type: 'edit'; readonly message: StoredMessage }
  /** Its sender deleted a message for everyone: `message` is the tombstone (`deleted`, no text). */
  | { readonly type: 'delete'; readonly message: StoredMessage }
  /**
   * Content from `from` was refused and changed nothing: a record the decoder refused
   * (`content: 'content'`, a `ContentRejection`), or a reaction, edit or delete the rules refused
   * (a `ConversationRejection`). `peer` is the conversation when known. Never carries the content.
   */
  | {
      readonly type: 'content-rejected';
      readonly peer: string | undefined;
      readonly from: string;
      readonly content: 'content' | 'reaction' | 'edit' | 'delete';
      readonly reason: ContentRejection | ConversationRejection;
      readonly field?: string;
    }
  /** Background work failed (see `WarningCode`); `cause` names the error (a code, never its message). */
  | { readonly type: 'warning'; readonly code: WarningCode; readonly cause: string };

/** Fan-out of events to subscribers. */
export interface EventHub {
  emit(event: ClientEvent): void;
  /** Emits a `warning` for `err` (its code only, never its message). */
  warn(code: WarningCode, err: unknown): void;
  subscribe(signal?: AbortSignal): AsyncIterableIterator<ClientEvent>;
  end(): void;
}

/**
 * Creates an event hub. `defer`, when given, holds each event until what it reports is stored
 * (the home's `afterCommit`), in order.
 */
export function createEventHub(defer?: (emit: () => void) => void): EventHub {
  const subscribers = new Set<{ push(e: ClientEvent | undefined): void }>();
  let ended = false;
  const emitNow = (event: ClientEvent): void => {
    for (const s of subscribers) s.push(event);
  };
  const emit = (event: ClientEvent): void => {
    if (defer === undefined) emitNow(event);
    else defer(() => emitNow(event));
  };
  return {
    emit,
    warn(code, err) {
      emit({ type: 'warning', code, cause: warningCause(err) });
    },
    end() {
      const endNow = (): void => {
        ended = true;
        for (const s of subscribers) s.push(undefined);
      };
      // After the events still waiting for their commit.
      if (defer === undefined) endNow();
      else defer(endNow);
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
