/**
 * The one-to-one inbox: check the sender device against its account's trusted signed list,
 * decrypt, deduplicate, store, and only then let the delivery be acknowledged. A sender whose
 * key change waits for the user has its messages held (stored undecrypted) and released when
 * the user accepts. Self-healing: a message that cannot be decrypted is answered with a retry
 * request naming only its transport id, and its sender rebuilds the session from a fresh
 * prekey bundle and sends it again: once per message and device (`MAX_RESENDS`), and with at
 * most one restart of a session per `RESTART_INTERVAL_MS` (a copy of a device's home, which can
 * ask as that device, gets at most that much). A restart writes "session restarted at X's
 * request" into the conversation on the side that restarts and, when the new session's first
 * message is read, on the side that asked.
 */
import {
  constantTimeEqual,
  decrypt,
  fromBase64Url,
  isProtocolError,
  type ServerFrame,
  type SessionContext,
  toBase64Url,
  utf8,
} from '@parley/protocol';
import {
  type DecodedAttachment,
  type DeviceListContent,
  decodeHeadGossip,
  decodeListStamp,
  readContent,
  type TextContent,
  UNSUPPORTED_TEXT,
} from '../content.ts';
import type { Conversations } from '../conversation/conversation.ts';
import type { Directory } from '../directory/directory.ts';
import { isClientError } from '../errors.ts';
import { type EventHub, type StoredMessage, storedMessageFromRow } from '../events.ts';
import type { ProfileStore } from '../home/profile.ts';
import type { HomeProtocolStores } from '../home/protocol-stores.ts';
import { type RelayLink, requireConnected } from '../relay/relay-link.ts';
import type { DirectOutbox } from './outbox.ts';
import type { Receipts } from './receipts.ts';
import type { DirectStore, HeldRow } from './store.ts';

/** How often one message is re-sent to one device on retry requests. */
export const MAX_RESENDS = 1;

/** Least time between two restarts of the session with one device at its request: 1 hour. */
export const RESTART_INTERVAL_MS = 3600 * 1000;

/** A delivery pushed by the relay. */
export type Deliver = Extract<ServerFrame, { type: 'deliver' }>;

/** What the inbox needs. */
export interface InboxDeps {
  readonly store: DirectStore;
  readonly profiles: ProfileStore;
  readonly directory: Directory;
  readonly session: SessionContext;
  readonly stores: HomeProtocolStores;
  readonly outbox: DirectOutbox;
  readonly receipts: Receipts;
  readonly events: EventHub;
  /** Replies, reactions, edits and deletes (docs/protocol.md §12.1). */
  readonly conversations: Conversations;
  readonly clock: () => number;
  newId(): string;
  me(): string;
  link(): RelayLink | undefined;
  /** Runs the outbox (a resend was queued). */
  flush(): void;
  /** Whether the person blocked `name`: its deliveries are dropped unread (acknowledged, nothing stored, nothing answered). */
  blocked(name: string): boolean;
  /** Disappearing messages: starts a line's clock; applies a timer change (docs/protocol.md §21). */
  readonly disappearing?: {
    start(sender: string, id: string, seconds: number, storedAt: number): void;
    timerChanged(peer: string, by: string, senderDevice: number, content: TextContent): void;
  };
  /** An attachment message: its conversation line (`text`) to store, and the event to emit once stored. */
  attachment?(decoded: DecodedAttachment): { text: string; emit(message: StoredMessage): void };
}

/** The inbox. */
export interface Inbox {
  /** Processes a delivery in arrival order; acknowledges it once processed. */
  receive(f: Deliver): void;
  /** Processes the messages held for `name` (after the user accepted its key). */
  releaseHeld(name: string): Promise<void>;
  /** Resolves when every delivery received so far is processed. */
  idle(): Promise<void>;
}

/** Creates the inbox. */
export function createInbox(deps: InboxDeps): Inbox {
  const { store, directory, session, stores, events, receipts } = deps;
  let chain: Promise<void> = Promise.resolve();

  const hold = (f: Deliver): void =>
    store.hold({
      seq: f.seq,
      sender: f.from,
      sender_device: f.fromDevice,
      message_id: f.messageId,
      kind: f.kind,
      body: fromBase64Url('body', f.body),
      server_time: f.serverTime,
    });

  /**
   * Writes "session with OWNER's device N restarted at X's request" into `peer`'s conversation
   * and emits `session-restarted`.
   */
  const noteRestart = (peer: string, owner: string, device: number, requester: string, by: 'us' | 'them'): void => {
    const now = deps.clock();
    const text = `session with ${owner === deps.me() ? 'your' : `${owner}'s`} device ${device} restarted at ${requester}'s request`;
    store.insertMessage({
      id: deps.newId(),
      peer,
      direction: 'system',
      sender: peer,
      senderDevice: 0,
      text,
      sentAt: now,
      receivedAt: now,
      status: 'received',
    });
    // The line is in the history; the event says it happened (as for a key-change note, no `message` event).
    events.emit({ type: 'session-restarted', peer, device, requestedBy: requester, by });
  };

  const sendRetryRequest = async (f: Deliver): Promise<void> => {
    // Remembered so that the new session's first message writes the restart line on this side too.
    deps.profiles.setNumber(`restart_asked:${f.from}.${f.fromDevice}`, deps.clock());
    const body = utf8(JSON.stringify({ v: 1, messageId: f.messageId }));
    await requireConnected(deps.link()).request('send', {
      name: f.from,
      messageId: deps.newId(),
      messages: [{ device: f.fromDevice, kind: 'retry', body: toBase64Url(body) }],
      resend: true,
    });
  };

  const handleRetry = async (f: Deliver): Promise<void> => {
    let transportId: unknown;
    try {
      transportId = JSON.parse(new TextDecoder().decode(fromBase64Url('body', f.body))).messageId;
    } catch {
      // A retry request that is not one (garbled, or forged by the server): nothing to resend.
      return;
    }
    if (typeof transportId !== 'string') return;
    const sent = store.sent(transportId);
    // Only the recipient of the message (or our own other devices) may ask for it again…
    if (sent === undefined || sent.recipient !== f.from) return;
    // …and only with the device identity it was first encrypted for: a new key (a reinstall, or
    // a server posing as the contact) never gets messages that were meant for the old one.
    const originalIdentity = (JSON.parse(sent.identities) as Record<string, string>)[String(f.fromDevice)];
    if (originalIdentity === undefined || originalIdentity !== directory.identitiesOf(f.from)[f.fromDevice]) return;
    const address = `${f.from}.${f.fromDevice}`;
    const original = store.message(deps.me(), sent.message_id);
    // Not a line (a reaction, edit or delete), or deleted for everyone since: nothing to send again.
    if (original === undefined || original.deleted_at !== null) return;
    // Each message is re-sent to a device once, whoever asks as that device.
    if (store.bumpResend(transportId, address) > MAX_RESENDS) return;
    // Rebuild the session unless it was already rebuilt after this message was sent, and at most
    // once per device per RESTART_INTERVAL_MS: within it the message goes over the session the
    // last restart made (itself from a fresh bundle).
    const resetKey = `session_reset:${address}`;
    const lastReset = deps.profiles.getNumber(resetKey) ?? 0;
    const now = deps.clock();
    const restart = lastReset <= sent.created_at && (lastReset === 0 || now - lastReset >= RESTART_INTERVAL_MS);
    if (restart) {
      stores.sessionStore.deleteSession({ account: f.from, device: f.fromDevice });
      deps.profiles.setNumber(resetKey, now);
      noteRestart(f.from === deps.me() ? original.peer : f.from, f.from, f.fromDevice, f.from, 'them');
    }
    const content: TextContent = {
      v: 1,
      id: original.id,
      ts: original.sent_at,
      text: original.text,
      ...(f.from === deps.me() ? { to: original.peer } : {}),
    };
    deps.outbox.queue(content, f.from, f.fromDevice);
    deps.flush();
  };

  const storeText = (f: Deliver, content: TextContent, unsupported = false): StoredMessage | undefined => {
    const fromSelf = f.from === deps.me();
    const peer = fromSelf ? content.to : f.from;
    if (peer === undefined) return undefined;
    const inserted = store.transaction(() => {
      const fresh = store.insertMessage({
        id: content.id,
        peer,
        direction: fromSelf ? 'out' : 'in',
        sender: f.from,
        senderDevice: f.fromDevice,
        text: content.text,
        sentAt: content.ts,
        receivedAt: deps.clock(),
        status: fromSelf ? 'sent' : 'received',
      });
      if (fresh) {
        deps.conversations.lineStored(peer, f.from, content.id, {
          ...(content.re === undefined ? {} : { re: content.re }),
          unsupported,
        });
        // The line's clock starts now, when this device stored it (docs/protocol.md §21).
        if (content.exp !== undefined) deps.disappearing?.start(f.from, content.id, content.exp, deps.clock());
      }
      return fresh;
    });
    if (!inserted) return undefined;
    const row = store.message(f.from, content.id);
    if (!fromSelf) receipts.delivered(f.from, content.id);
    if (row === undefined) return undefined;
    const message = storedMessageFromRow(row);
    events.emit({ type: 'message', message });
    return message;
  };

  /**
   * Refreshes a contact's trusted list; a key change waiting for the user is not an error here
   * (the caller holds), nor is an older list served for a contact already pinned (the pinned,
   * newer list stays; retrying the delivery would only meet the same refusal).
   */
  const refreshTolerant = async (name: string): Promise<void> => {
    try {
      await directory.refresh(name);
    } catch (err) {
      if (isClientError(err, 'UNTRUSTED_IDENTITY')) return;
      if (isClientError(err, 'INVALID_DEVICE_LIST') && directory.contact(name) !== undefined) return;
      throw err;
    }
  };

  /**
   * A device-list notice (docs/protocol.md §10, "Never go back"): taken if the pinned account
   * key signed it and it is newer.
   */
  const applyDeviceList = async (f: Deliver, notice: DeviceListContent): Promise<void> => {
    let bytes: Uint8Array;
    try {
      bytes = fromBase64Url('deviceList', notice.deviceList);
    } catch {
      return; // not base64url: nothing to take (the sender's device is authenticated; a bug of theirs)
    }
    await directory.adoptNotice(f.from, bytes);
  };

  /**
   * A sender device identity that is not the one on the pinned list: ask the server for the
   * current list. A changed account key holds the message until the user accepts it; a newer
   * list signed by the pinned key is taken and the message retried; anything else is dropped.
   */
  const untrustedSender = async (f: Deliver): Promise<void> => {
    // The list's signature identifies it: a new one (newer version, or a new key's list) is worth a retry.
    const before = directory.contact(f.from)?.deviceList.signature;
    await refreshTolerant(f.from);
    const c = directory.contact(f.from);
    if (c?.pendingKey !== undefined) hold(f);
    else if (c !== undefined && (before === undefined || !constantTimeEqual(c.deviceList.signature, before))) {
      await processDelivery(f);
    } else {
      events.emit({ type: 'unlisted-device', from: f.from, fromDevice: f.fromDevice });
    }
  };

  /** Processes one delivery; when it returns (not throws), the delivery may be acknowledged. */
  async function processDelivery(f: Deliver): Promise<void> {
    // Blocked: dropped before anything is decrypted, stored or answered (no receipt, no retry request).
    if (f.from !== deps.me() && deps.blocked(f.from)) return;
    if (f.kind === 'retry') {
      await handleRetry(f);
      return;
    }
    const me = deps.me();
    if (f.from === me && !directory.listedDevices(me).includes(f.fromDevice)) {
      await directory.refresh(me);
      if (!directory.listedDevices(me).includes(f.fromDevice)) {
        events.emit({ type: 'unlisted-device', from: f.from, fromDevice: f.fromDevice });
        return;
      }
    }
    if (f.from !== me) {
      let c = directory.contact(f.from);
      if (c === undefined || (c.pendingKey === undefined && !directory.listedDevices(f.from).includes(f.fromDevice))) {
        await refreshTolerant(f.from);
        c = directory.contact(f.from);
      }
      if (c?.pendingKey !== undefined) {
        hold(f);
        return;
      }
      if (!directory.listedDevices(f.from).includes(f.fromDevice)) {
        events.emit({ type: 'unlisted-device', from: f.from, fromDevice: f.fromDevice });
        return;
      }
    }
    let plaintext: Uint8Array;
    try {
      plaintext = await decrypt(session, { account: f.from, device: f.fromDevice }, fromBase64Url('body', f.body));
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      if (err.code === 'DUPLICATE_MESSAGE' || err.code === 'REPLAYED_INITIAL_MESSAGE') return;
      if (err.code === 'UNTRUSTED_IDENTITY') {
        await untrustedSender(f);
        return;
      }
      events.emit({ type: 'undecryptable', from: f.from, fromDevice: f.fromDevice });
      await sendRetryRequest(f);
      return;
    }
    if (f.kind === 'initial') {
      // A new session from a device we asked to restart one: say so on this side as well.
      const askedKey = `restart_asked:${f.from}.${f.fromDevice}`;
      if ((deps.profiles.getNumber(askedKey) ?? 0) > 0) {
        deps.profiles.setNumber(askedKey, 0);
        noteRestart(f.from, f.from, f.fromDevice, me, 'us');
      }
    }
    const read = readContent(plaintext);
    if (!read.ok) deps.conversations.rejected(f.from, read.error);
    else {
      const decoded = read.value;
      const fromSelf = f.from === me;
      switch (decoded.kind) {
        case 'text': {
          const content = decoded.content;
          if (content.ctl === 'timer') {
            // A timer change: a system line and the conversation's new timer, never a message.
            const peer = fromSelf ? content.to : f.from;
            if (peer !== undefined) deps.disappearing?.timerChanged(peer, f.from, f.fromDevice, content);
          } else storeText(f, content);
          break;
        }
        case 'unsupported': {
          const { id, ts, to } = decoded.content;
          storeText(f, { v: 1, id, ts, text: UNSUPPORTED_TEXT, ...(to === undefined ? {} : { to }) }, true);
          break;
        }
        case 'receipt':
          receipts.apply(f.from, decoded.content);
          break;
        case 'attachment': {
          const view = deps.attachment?.(decoded);
          if (view !== undefined) {
            const { id, ts, to, exp } = decoded.content;
            const stored = storeText(f, {
              v: 1,
              id,
              ts,
              text: view.text,
              ...(to === undefined ? {} : { to }),
              ...(exp === undefined ? {} : { exp }),
            });
            if (stored !== undefined) view.emit(stored);
          }
          break;
        }
        case 'device-list':
          await applyDeviceList(f, decoded.content);
          break;
        case 'reaction':
        case 'edit':
        case 'delete': {
          // Our other device's copy names the conversation; a contact's is its own.
          const peer = fromSelf ? decoded.content.to : f.from;
          if (peer !== undefined) deps.conversations.apply(peer, f.from, decoded);
          break;
        }
      }
    }
    // Every content announces its sender's device-list version: never go back, and learn of a
    // newer list even while the server keeps serving an older one (docs/protocol.md §10).
    const stamp = decodeListStamp(plaintext);
    if (stamp !== undefined && stamp !== 'malformed') await directory.noteAnnounced(f.from, stamp.version, stamp.hash);
    const gossip = decodeHeadGossip(plaintext);
    if (gossip !== undefined) await directory.noteGossip(f.from, gossip);
  }

  // Deliveries queued in the inbox and not yet processed: receipts go out when it reaches 0.
  let depth = 0;

  const fromHeld = (r: HeldRow): Deliver => ({
    type: 'deliver',
    seq: r.seq,
    from: r.sender,
    fromDevice: r.sender_device,
    messageId: r.message_id,
    kind: r.kind,
    body: toBase64Url(r.body),
    serverTime: r.server_time,
  });

  return {
    receive(f) {
      depth++;
      chain = chain.then(async () => {
        try {
          await processDelivery(f);
          deps.link()?.ack(f.seq);
        } catch (err) {
          // Not acknowledged: the server delivers it again on the next connection.
          events.warn('DELIVERY_NOT_PROCESSED', err);
        } finally {
          if (--depth === 0) receipts.flushDelivered();
        }
      });
    },
    async releaseHeld(name) {
      for (const r of store.held(name)) {
        const f = fromHeld(r);
        chain = chain.then(async () => {
          try {
            await processDelivery(f);
            store.unhold(f.seq);
          } catch (err) {
            // Stays held; released again on the next accept.
            events.warn('HELD_RELEASE_FAILED', err);
          }
        });
      }
      await chain;
    },
    idle: () => chain,
  };
}
