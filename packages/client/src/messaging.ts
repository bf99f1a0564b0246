/**
 * One-to-one conversations, as the client exposes them: a thin facade over `direct/` (its
 * store, fan-out, outbox lane, inbox and receipts), run by the shared outbox runner
 * (`delivery/`) and trusting only what the directory (`directory/`) trusts.
 */
import {
  type CryptoProvider,
  type DeviceListEntry,
  encodeSignedDeviceList,
  type RandomSource,
  type SessionContext,
  toBase64Url,
  utf8,
} from '@parley/protocol';
import { attachmentHook } from './attachments/attachment-hook.ts';
import { prepareAttachment, type SendFileOptions } from './attachments/send-file.ts';
import type { AttachmentSink, AttachmentSource } from './attachments/source.ts';
import type { UploadStateStore } from './attachments/upload-state.ts';
import { type DeviceListContent, MAX_TEXT_BYTES, type OutgoingContent, type TextContent } from './content.ts';
import type { Conversations } from './conversation/conversation.ts';
import { createOutboxRunner } from './delivery/outbox-runner.ts';
import { createFanOut } from './direct/fan-out.ts';
import { createInbox, type Deliver } from './direct/inbox.ts';
import { createDirectOutbox } from './direct/outbox.ts';
import { createReceipts } from './direct/receipts.ts';
import type { DirectStore } from './direct/store.ts';
import type { Directory } from './directory/directory.ts';
import type { Disappearing } from './disappearing/disappearing.ts';
import { isTimerSeconds, type TimerSeconds, timerWords } from './disappearing/timers.ts';
import { ClientError } from './errors.ts';
import { type ConversationSummary, type EventHub, type StoredMessage, storedMessageFromRow } from './events.ts';
import type { ConversationSettings } from './home/conversation-settings.ts';
import type { Profile, ProfileStore } from './home/profile.ts';
import type { HomeProtocolStores } from './home/protocol-stores.ts';
import { parsePeer } from './peer.ts';
import type { RelayLink } from './relay/relay-link.ts';

export type { KeyChangePolicy } from './directory/directory.ts';

/** What messaging needs from the client. */
export interface MessagingDeps {
  readonly store: DirectStore;
  readonly directory: Directory;
  readonly profiles: ProfileStore;
  readonly provider: CryptoProvider;
  readonly random: RandomSource;
  readonly clock: () => number;
  profile(): Profile;
  /** Whether to send delivery and read receipts (receipts from others are always applied). */
  readonly receipts: () => boolean;
  readonly stores: HomeProtocolStores;
  readonly events: EventHub;
  /** Replies, reactions, edits and deletes (docs/protocol.md §12.1). */
  readonly conversations: Conversations;
  link(): RelayLink | undefined;
  /** The server's http(s) URL (the blob API lives there). */
  readonly server: string;
  /** Disappearing-message timers and expiry (docs/protocol.md §21). */
  readonly disappearing: Disappearing;
  /** Opens a file by path for a downloaded attachment (Node). */
  readonly fileSink?: (path: string) => Promise<AttachmentSink>;
  /** The person's per-conversation choices and blocked contacts. */
  readonly settings: ConversationSettings;
  /** Uploads in progress kept in the home, so one cut short resumes. */
  readonly uploads?: UploadStateStore;
}

/** The conversation operations the client exposes or drives. */
export interface Messaging {
  /**
   * Stores and queues a message. With `wait`, resolves once the server accepted it; rejects
   * with `QUEUED` (still in the outbox) when not connected and no `signal` was given, or when
   * `signal` aborts first (lost connections meanwhile are waited out).
   */
  send(to: string, text: string, wait: boolean, signal?: AbortSignal): Promise<{ id: string }>;
  /** Uploads `source` and sends it as an attachment; resolves once the server accepted the message. */
  sendFile(to: string, source: AttachmentSource, options?: SendFileOptions): Promise<{ id: string }>;
  /**
   * Queues `content` to `to` and this account's other devices; with `line`, stores it as our line
   * first (`annotate` runs in the same transaction). Resolves once stored and queued.
   */
  sendContent(to: string, content: OutgoingContent, line: string | undefined, annotate?: () => void): Promise<void>;
  flushOutbox(): void;
  /**
   * Sets the disappearing-message timer of the conversation with `to` (undefined: off): saved,
   * written as a system line, and sent to `to` and this account's other devices.
   */
  setTimer(to: string, seconds: TimerSeconds | undefined): void;
  receive(frame: Deliver): void;
  /** Resolves when the inbox and outbox have nothing in progress. */
  idle(): Promise<void>;
  /**
   * Accepts a contact's changed key ("send anyway"; refused for a verified contact): takes the
   * new key, releases the messages held from and to them (in order). Returns the ids of our
   * released messages.
   */
  acceptChange(name: string): Promise<string[]>;
  /** The user verified `name`'s current key: takes it, marks verified, releases held messages. */
  verified(name: string): Promise<string[]>;
  /** Drops our messages to `name` held for a key change (marked `failed`, never sent); returns how many. */
  discardHeld(name: string): number;
  /** A contact's key changed: writes the change line into the conversation. */
  noteKeyChange(name: string): void;
  /** A contact's key was replaced: drops the old devices' sessions. */
  keyReplaced(name: string, oldDevices: readonly DeviceListEntry[]): void;
  /**
   * Sends our account's current signed device list to `contacts` and to our own other devices,
   * inside the encrypted channel (docs/protocol.md §10, "Never go back"), after a device was removed.
   */
  announceDeviceList(contacts: readonly string[]): void;
  history(peer: string, limit: number): StoredMessage[];
  /** Every conversation, most recent first, with its unread count. */
  conversations(): ConversationSummary[];
  /** Marks a conversation read up to its last message (and sends read receipts when enabled). */
  markRead(peer: string): void;
  /** Ends background retries (the client is closing). */
  stop(): void;
}

/** Creates the messaging layer. */
export function createMessaging(deps: MessagingDeps): Messaging {
  const { store, directory, random, clock, stores, events } = deps;
  const session: SessionContext = { provider: deps.provider, random, ...stores };
  const me = (): string => deps.profile().name;
  const newId = (): string => toBase64Url(random(16));

  const uploadDeps = {
    provider: deps.provider,
    random,
    clock,
    server: deps.server,
    link: deps.link,
    newId,
    ...(deps.uploads === undefined ? {} : { uploads: deps.uploads }),
  };
  const encryptFor = createFanOut({ session, stores, directory, clock, me, link: deps.link });
  const outbox = createDirectOutbox({ store, directory, events, encryptFor, clock, newId, me, link: deps.link });
  /** Releases what a key change held, after the user acted: messages from them, then ours to them. */
  const release = async (name: string): Promise<string[]> => {
    await inbox.releaseHeld(name);
    const ids = store.heldOut(me(), name);
    store.transaction(() => {
      for (const id of ids) store.setStatus(me(), id, 'pending');
    });
    receipts.flushDelivered();
    await runner.flush();
    return ids;
  };
  const runner = createOutboxRunner(outbox, {
    isConnected: () => deps.link()?.isConnected() ?? false,
    onError: (err) => events.warn('OUTBOX_FAILED', err),
  });
  const flush = (): void => void runner.flush();
  const receipts = createReceipts({ store, outbox, events, clock, enabled: deps.receipts, newId, me, flush });
  const inbox = createInbox({
    store,
    profiles: deps.profiles,
    directory,
    session,
    stores,
    outbox,
    receipts,
    events,
    conversations: deps.conversations,
    clock,
    newId,
    me,
    link: deps.link,
    flush,
    blocked: (name) => deps.settings.isBlocked(name),
    disappearing: {
      start: deps.disappearing.start,
      timerChanged(peer, by, device, content) {
        noteTimer(peer, by, device, content.id, isTimerSeconds(content.exp) ? content.exp : undefined);
      },
    },
    attachment: attachmentHook({
      server: deps.server,
      provider: deps.provider,
      events,
      fileSink: deps.fileSink,
    }),
  });

  const refuseBlocked = (to: string): void => {
    if (deps.settings.isBlocked(to)) throw new ClientError('BLOCKED', `you blocked ${to}; unblock them to send`);
  };

  const send = async (to: string, text: string, wait: boolean, signal?: AbortSignal): Promise<{ id: string }> => {
    if (to === me()) throw new ClientError('INVALID_ARGUMENT', 'sending to your own account is not supported yet');
    refuseBlocked(to);
    if (utf8(text).length > MAX_TEXT_BYTES)
      throw new ClientError('INVALID_ARGUMENT', `messages are limited to ${MAX_TEXT_BYTES} bytes`);
    const content: TextContent = { v: 1, id: newId(), ts: clock(), text };
    return queueContent(to, content, text, wait, signal);
  };

  /** The system line "`by` set disappearing messages to …" and the `timer` event. */
  const noteTimer = (peer: string, by: string, device: number, id: string, seconds: number | undefined): void => {
    const now = clock();
    const inserted = store.insertMessage({
      id,
      peer,
      direction: 'system',
      sender: by,
      senderDevice: device,
      text: `${by} set disappearing messages to ${timerWords(seconds)}`,
      sentAt: now,
      receivedAt: now,
      status: 'received',
    });
    if (!inserted) return;
    deps.disappearing.setTimer(peer, seconds);
    events.emit({ type: 'timer', peer, seconds, by });
  };

  /** Stores `line` in the history and queues `content` to `to` and this account's other devices. */
  const queueContent = async (
    to: string,
    content: OutgoingContent,
    line: string | undefined,
    wait: boolean,
    signal?: AbortSignal,
    annotate?: () => void,
  ): Promise<{ id: string }> => {
    // A line (a message or attachment, not a reaction, edit or delete) carries the conversation's
    // timer; its clock starts now, on this device.
    const exp = line === undefined ? undefined : deps.disappearing.timer(to);
    const timed = exp === undefined ? content : { ...content, exp };
    store.transaction(() => {
      if (line !== undefined) {
        store.insertMessage({
          id: content.id,
          peer: to,
          direction: 'out',
          sender: me(),
          senderDevice: deps.profile().device,
          text: line,
          sentAt: content.ts,
          receivedAt: null,
          status: 'pending',
        });
        annotate?.();
        if (exp !== undefined) deps.disappearing.start(me(), content.id, exp, clock());
      }
      outbox.queue(timed, to, null);
      if (directory.listedDevices(me()).length > 0) outbox.queue({ ...timed, to }, me(), null);
    });
    const done = wait ? outbox.waitFor(content.id) : Promise.resolve();
    flush();
    const queued = (): ClientError =>
      new ClientError('QUEUED', 'not sent yet; the message is queued and will be sent when the server is reachable');
    if (wait && signal === undefined && !deps.link()?.isConnected()) {
      outbox.forget(content.id);
      throw queued();
    }
    // The caller stops waiting: a message the outbox has not finished stays in it.
    const onAbort = (): void => outbox.abandon(content.id, queued());
    if (wait && signal !== undefined) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    try {
      await done;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return { id: content.id };
  };

  return {
    send,
    async sendFile(to, source, options = {}) {
      if (to === me()) throw new ClientError('INVALID_ARGUMENT', 'sending to your own account is not supported yet');
      refuseBlocked(to);
      const { content, line } = await prepareAttachment(uploadDeps, source, options);
      return queueContent(to, content, line, true, options.signal);
    },
    async sendContent(to, content, line, annotate) {
      if (to === me()) throw new ClientError('INVALID_ARGUMENT', 'sending to your own account is not supported yet');
      await queueContent(to, content, line, false, undefined, annotate);
    },
    flushOutbox: flush,
    setTimer(to, seconds) {
      if (to === me()) throw new ClientError('INVALID_ARGUMENT', 'a conversation with your own account has no timer');
      const content: TextContent = { v: 1, id: newId(), ts: clock(), text: '', ctl: 'timer', exp: seconds ?? 0 };
      store.transaction(() => {
        noteTimer(to, me(), deps.profile().device, content.id, seconds);
        outbox.queue(content, to, null);
        if (directory.listedDevices(me()).length > 0) outbox.queue({ ...content, to }, me(), null);
      });
      flush();
    },
    receive: inbox.receive,
    async acceptChange(name) {
      directory.acceptChange(name);
      return release(name);
    },
    async verified(name) {
      directory.verified(name);
      return release(name);
    },
    discardHeld(name) {
      const ids = store.heldOut(me(), name);
      store.transaction(() => {
        for (const id of ids) {
          store.dropOutboxOf(id, name);
          store.setStatus(me(), id, 'failed');
        }
      });
      return ids.length;
    },
    keyReplaced(name, oldDevices) {
      for (const d of oldDevices) stores.sessionStore.deleteSession({ account: name, device: d.id });
      // A resend answers a retry request for a message encrypted to the old key: it never goes
      // to the new one (the retry may have come from whoever holds the new key).
      store.dropResends(name);
    },
    noteKeyChange(name) {
      const now = clock();
      store.insertMessage({
        id: newId(),
        peer: name,
        direction: 'system',
        sender: name,
        senderDevice: 0,
        text: `${name}'s safety number changed`,
        sentAt: now,
        receivedAt: now,
        status: 'received',
      });
    },
    async idle() {
      await inbox.idle();
      await runner.idle();
    },
    announceDeviceList(contacts) {
      const content: DeviceListContent = {
        v: 1,
        id: newId(),
        ts: clock(),
        deviceList: toBase64Url(encodeSignedDeviceList(deps.profile().deviceList)),
      };
      store.transaction(() => {
        for (const name of contacts) if (name !== me()) outbox.queue(content, name, null);
        if (directory.listedDevices(me()).length > 0) outbox.queue(content, me(), null);
      });
      flush();
    },
    history: (peer, limit) => store.history(peer, limit).map(storedMessageFromRow),
    conversations() {
      const flags = deps.settings.all();
      const blocked = new Set(deps.settings.blocked());
      const list = store.conversations().map((r): ConversationSummary => {
        const f = flags.get(r.peer);
        return {
          peer: r.peer,
          last: storedMessageFromRow(r),
          unread: r.unread,
          archived: f?.archived ?? false,
          muted: f?.muted ?? false,
          pinned: f?.pinned ?? false,
          blocked: parsePeer(r.peer).kind === 'account' && blocked.has(r.peer),
        };
      });
      // Pinned first; each part stays most recent first (a stable sort).
      return list.sort((a, b) => Number(b.pinned) - Number(a.pinned));
    },
    markRead: receipts.markRead,
    stop: runner.stop,
  };
}
