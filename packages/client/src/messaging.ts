/**
 * Conversations: the outbox (encrypt, fan out to every listed device, send, retry on stale
 * device sets), the inbox (check the sender device against its account's signed list,
 * decrypt, deduplicate, store, then acknowledge), and self-healing: a message that cannot be
 * decrypted is answered with a retry request naming only its transport id, and the sender
 * rebuilds the session from a fresh prekey bundle and sends the message again.
 */
import {
  type CryptoProvider,
  constantTimeEqual,
  decodeSignedDeviceList,
  decrypt,
  encodeDeviceIdentityPublic,
  encrypt,
  fromBase64Url,
  hasSession,
  isProtocolError,
  processPreKeyBundle,
  type RandomSource,
  type RelayOps,
  type ServerFrame,
  type SessionContext,
  type SignedDeviceList,
  type StaleDevicesDetails,
  toBase64Url,
  utf8,
  verifyDeviceList,
  type WireOutgoing,
} from '@parley/protocol';
import {
  decodeContent,
  decodeReceipt,
  encodeContent,
  MAX_RECEIPT_IDS,
  MAX_TEXT_BYTES,
  type ReceiptContent,
  type TextContent,
} from './content.ts';
import { ClientError, isClientError, isRelayRefusal } from './errors.ts';
import { type ConversationSummary, type EventHub, type StoredMessage, storedMessageFromRow } from './events.ts';
import type { Contacts } from './home/contacts.ts';
import { blob, type HomeDatabase } from './home/database.ts';
import type { Profile } from './home/profile.ts';
import type { HomeProtocolStores } from './home/protocol-stores.ts';
import { type RelayLink, requireConnected } from './relay/relay-link.ts';

/** How often one message is re-sent to one device on retry requests. */
const MAX_RESENDS = 3;
/** When a rate-limited or queue-full send is tried again without a server hint, and at the latest. */
const OUTBOX_RETRY_MS = 1000;
const MAX_OUTBOX_RETRY_MS = 30_000;
/** How many times a send is re-encrypted after the server reports a stale device set. */
const MAX_STALE_RETRIES = 3;

type Deliver = Extract<ServerFrame, { type: 'deliver' }>;

/**
 * What a contact's account-key change does. `block-verified` (default): a verified contact is
 * blocked until re-verified; an unverified one is warned about once and recorded in the
 * conversation. `block-all`: every change blocks until the user accepts it.
 */
export type KeyChangePolicy = 'block-verified' | 'block-all';

/** What messaging needs from the client. */
export interface MessagingDeps {
  readonly db: HomeDatabase;
  readonly provider: CryptoProvider;
  readonly random: RandomSource;
  readonly clock: () => number;
  profile(): Profile;
  /** Saves a newer own device list (verified by the caller). */
  setOwnList(list: SignedDeviceList): void;
  /** Whose key changes stop sending: only verified contacts' (Signal's rule), or everyone's. */
  readonly keyChangePolicy: KeyChangePolicy;
  /** Whether to send delivery and read receipts (receipts from others are always applied). */
  readonly receipts: boolean;
  readonly contacts: Contacts;
  readonly stores: HomeProtocolStores;
  readonly events: EventHub;
  link(): RelayLink | undefined;
}

/** The conversation operations the client exposes or drives. */
export interface Messaging {
  /**
   * Stores and queues a message. With `wait`, resolves once the server accepted it; rejects
   * with `QUEUED` (still in the outbox) when not connected and no `signal` was given, or when
   * `signal` aborts first.
   */
  send(to: string, text: string, wait: boolean, signal?: AbortSignal): Promise<{ id: string }>;
  flushOutbox(): void;
  receive(frame: Deliver): void;
  /** Resolves when the inbox and outbox have nothing in progress. */
  idle(): Promise<void>;
  /** Accepts a contact's changed key: drops sessions with their old devices, releases held messages, resumes sending. */
  acceptIdentity(name: string): Promise<void>;
  refreshContact(name: string): Promise<void>;
  /** Pins or checks a served account key and device list (throws on an unaccepted key change). */
  checkServed(name: string, accountKey: string, deviceList: string): Promise<void>;
  /** The device list trusted for an account: our own, or the contact's pinned one. */
  trustedDevices(name: string): SignedDeviceList['devices'];
  history(peer: string, limit: number): StoredMessage[];
  /** Every conversation, most recent first, with its unread count. */
  conversations(): ConversationSummary[];
  /** Marks a conversation read up to its last message (and sends read receipts when enabled). */
  markRead(peer: string): void;
}

interface OutboxRow {
  seq: number;
  message_id: string;
  recipient: string;
  transport_id: string;
  content: Uint8Array;
  payload: string | null;
  only_device: number | null;
}

/** Creates the messaging layer. */
export function createMessaging(deps: MessagingDeps): Messaging {
  const { db, provider, random, clock, contacts, stores, events } = deps;
  const ctx: SessionContext = { provider, random, ...stores };
  const me = deps.profile().name;
  const myDevice = deps.profile().device;
  let inbox: Promise<void> = Promise.resolve();
  let outbox: Promise<void> = Promise.resolve();
  let outboxQueued = false;
  const waiters = new Map<string, { resolve(): void; reject(err: unknown): void }>();

  const q = {
    insertMessage: db.prepare(
      `INSERT OR IGNORE INTO messages (id, peer, direction, sender, sender_device, text, sent_at, received_at, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    setStatus: db.prepare('UPDATE messages SET status = ? WHERE sender = ? AND id = ?'),
    setSent: db.prepare(
      `UPDATE messages SET status = 'sent' WHERE sender = ? AND id = ? AND status IN ('pending', 'failed')`,
    ),
    // A receipt only moves an outgoing message to the recipient forward: sent → delivered → read.
    advance: db.prepare(
      `UPDATE messages SET status = ? WHERE sender = ? AND id = ? AND peer = ? AND direction = 'out'
         AND status IN ('pending', 'sent', 'failed', 'delivered') AND status <> ?`,
    ),
    readRow: db.prepare('SELECT read_row FROM conversation_reads WHERE peer = ?').pluck(),
    lastRow: db.prepare('SELECT MAX(row) FROM messages WHERE peer = ?').pluck(),
    setRead: db.prepare('INSERT OR REPLACE INTO conversation_reads (peer, read_row) VALUES (?, ?)'),
    unreadIds: db
      .prepare(`SELECT id FROM messages WHERE peer = ? AND sender = ? AND direction = 'in' AND row > ? ORDER BY row`)
      .pluck(),
    conversations: db.prepare(
      `SELECT m.*, (SELECT COUNT(*) FROM messages i WHERE i.peer = m.peer AND i.direction = 'in'
                     AND i.row > COALESCE(r.read_row, 0)) AS unread
       FROM messages m LEFT JOIN conversation_reads r ON r.peer = m.peer
       WHERE m.row IN (SELECT MAX(row) FROM messages GROUP BY peer)
       ORDER BY m.row DESC`,
    ),
    getOwnMessage: db.prepare('SELECT * FROM messages WHERE sender = ? AND id = ?'),
    history: db.prepare('SELECT * FROM (SELECT * FROM messages WHERE peer = ? ORDER BY row DESC LIMIT ?) ORDER BY row'),
    insertOutbox: db.prepare(
      `INSERT INTO outbox (message_id, recipient, transport_id, content, only_device, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    outbox: db.prepare('SELECT * FROM outbox ORDER BY seq'),
    setPayload: db.prepare('UPDATE outbox SET payload = ? WHERE seq = ?'),
    deleteOutbox: db.prepare('DELETE FROM outbox WHERE seq = ?'),
    insertSent: db.prepare(
      'INSERT OR REPLACE INTO sent (transport_id, message_id, recipient, identities, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    getSent: db.prepare('SELECT * FROM sent WHERE transport_id = ?'),
    bumpResend: db.prepare(
      `INSERT INTO resends (transport_id, address, count) VALUES (?, ?, 1)
       ON CONFLICT (transport_id, address) DO UPDATE SET count = count + 1 RETURNING count`,
    ),
    hold: db.prepare(
      `INSERT OR IGNORE INTO held (seq, sender, sender_device, message_id, kind, body, server_time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    held: db.prepare('SELECT * FROM held WHERE sender = ? ORDER BY seq'),
    unhold: db.prepare('DELETE FROM held WHERE seq = ?'),
  };

  const newId = (): string => toBase64Url(random(16));

  const toStored = storedMessageFromRow;

  const requireLink = (): RelayLink => requireConnected(deps.link());

  /** Pins or checks a served account key and device list; throws when the key changed. */
  const checkServed = async (name: string, accountKey: string, deviceList: string): Promise<void> => {
    const result = await contacts.checkServedList(
      name,
      fromBase64Url('accountKey', accountKey),
      fromBase64Url('deviceList', deviceList),
      clock(),
    );
    if (result.status === 'changed') {
      const verified = result.contact.verified;
      events.emit({ type: 'identity-changed', name, verified });
      if (!verified && deps.keyChangePolicy === 'block-verified') {
        adoptNewKey(name);
        return;
      }
      throw new ClientError(
        'UNTRUSTED_IDENTITY',
        `${name}'s account key changed; compare safety numbers and accept it first`,
      );
    }
  };

  /** Fetches our own signed device list and takes it if it verifies and is not older. */
  /**
   * Takes an unverified contact's new key (Signal's rule: warn, record, go on): sessions with the
   * old devices are dropped and the change is written into the conversation.
   */
  const adoptNewKey = (name: string): void => {
    const old = contacts.get(name);
    if (old?.pendingKey === undefined) return;
    contacts.acceptPending(name);
    for (const d of old.deviceList.devices) stores.sessionStore.deleteSession({ account: name, device: d.id });
    const now = clock();
    q.insertMessage.run(newId(), name, 'system', name, 0, `${name}'s safety number changed`, now, now, 'received');
  };

  const refreshOwnList = async (): Promise<void> => {
    const r = await requireLink().request('get-account', { name: me });
    const key = fromBase64Url('accountKey', r.accountKey);
    let list: SignedDeviceList;
    try {
      if (!constantTimeEqual(key, deps.profile().accountKey)) throw new Error('account key differs');
      list = decodeSignedDeviceList(fromBase64Url('deviceList', r.deviceList));
      await verifyDeviceList(provider, key, list);
    } catch (err) {
      throw new ClientError('INVALID_DEVICE_LIST', 'the server served our own device list under another key', {
        cause: err,
      });
    }
    const current = deps.profile().deviceList.version;
    if (list.version < current)
      throw new ClientError('INVALID_DEVICE_LIST', 'the server served an older own device list');
    if (list.version > current) deps.setOwnList(list);
  };

  const refreshContact = async (name: string): Promise<void> => {
    if (name === me) return refreshOwnList();
    try {
      const r = await requireLink().request('get-account', { name });
      await checkServed(name, r.accountKey, r.deviceList);
    } catch (err) {
      if (isRelayRefusal(err, 'UNKNOWN_ACCOUNT'))
        throw new ClientError('UNKNOWN_ACCOUNT', `no account named ${name} on the server`);
      throw err;
    }
  };

  /** The device list we trust for `name`: our own, or the contact's pinned one. */
  const devicesOf = (name: string): SignedDeviceList['devices'] =>
    (name === me ? deps.profile().deviceList : contacts.get(name)?.deviceList)?.devices ?? [];

  const listedDevices = (name: string): number[] =>
    devicesOf(name)
      .map((d) => d.id)
      .filter((id) => !(name === me && id === myDevice));

  /** Encrypts `content` for every listed device of `name` (or just `only`), starting sessions as needed. */
  const encryptFor = async (name: string, content: Uint8Array, only: number | null): Promise<WireOutgoing[]> => {
    if (name !== me) {
      const c = contacts.get(name);
      if (c === undefined) await refreshContact(name);
      else if (c.pendingKey !== undefined) {
        throw new ClientError(
          'UNTRUSTED_IDENTITY',
          `${name}'s account key changed; compare safety numbers and accept it first`,
        );
      }
    }
    const devices = listedDevices(name).filter((d) => only === null || d === only);
    const missing: number[] = [];
    for (const device of devices) {
      const address = { account: name, device };
      // A session with an identity the list no longer has (the device id was re-linked) is dropped.
      const known = await stores.identityStore.getRemoteIdentity(address);
      const listed = listedIdentity(name, device);
      if (
        known !== undefined &&
        listed !== undefined &&
        !constantTimeEqual(encodeDeviceIdentityPublic(known), listed)
      ) {
        stores.sessionStore.deleteSession(address);
      }
      if (!(await hasSession(ctx, address))) missing.push(device);
    }
    if (missing.length > 0) {
      let r: RelayOps['fetch-bundles']['result'];
      try {
        r = await requireLink().request('fetch-bundles', { name, devices: missing });
      } catch (err) {
        if (isRelayRefusal(err, 'NO_PREKEYS'))
          throw new ClientError('NO_PREKEYS', `${name} has no prekeys on the server`);
        throw err;
      }
      if (name !== me) await checkServed(name, r.accountKey, r.deviceList);
      for (const b of r.bundles) {
        // processPreKeyBundle refuses an identity that is not the one on the signed device list.
        await processPreKeyBundle(ctx, { account: name, device: b.device }, fromBase64Url('bundle', b.bundle));
      }
    }
    const out: WireOutgoing[] = [];
    for (const device of devices) {
      if (!(await hasSession(ctx, { account: name, device }))) continue;
      const m = await encrypt(ctx, { account: name, device }, content);
      const listed = listedIdentity(name, device);
      const keyId = listed === undefined ? undefined : toBase64Url(listed.subarray(0, 8));
      out.push({ device, kind: m.type, body: toBase64Url(m.body), ...(keyId === undefined ? {} : { keyId }) });
    }
    return out;
  };

  /** The encoded identity the pinned list has for `name`'s device `device`. */
  const listedIdentity = (name: string, device: number): Uint8Array | undefined =>
    devicesOf(name).find((d) => d.id === device)?.identity;

  /** The device identities a message to `name` is encrypted for now (base64url by device id). */
  const identitiesOf = (name: string): Record<number, string> =>
    Object.fromEntries(devicesOf(name).map((d) => [d.id, toBase64Url(d.identity)]));

  const finish = (row: OutboxRow, err?: unknown): void => {
    q.deleteOutbox.run(row.seq);
    const w = waiters.get(row.message_id);
    if (err === undefined) {
      const identities = JSON.stringify(identitiesOf(row.recipient));
      q.insertSent.run(row.transport_id, row.message_id, row.recipient, identities, clock());
      if (row.recipient !== me || row.only_device !== null) q.setSent.run(me, row.message_id);
      // Receipts have no line in the history, and no `sent` event.
      if (q.getOwnMessage.get(me, row.message_id) !== undefined)
        events.emit({ type: 'sent', id: row.message_id, to: row.recipient });
      w?.resolve();
    } else {
      q.setStatus.run('failed', me, row.message_id);
      const reason = err instanceof Error ? err.message : 'send failed';
      events.emit({ type: 'send-failed', id: row.message_id, to: row.recipient, reason });
      w?.reject(err);
    }
    waiters.delete(row.message_id);
  };

  const deliverRow = async (row: OutboxRow): Promise<void> => {
    let payload: WireOutgoing[] | undefined = row.payload === null ? undefined : JSON.parse(row.payload);
    // Set when the server claims devices the signed list does not have: we send to the signed ones only.
    let subset = row.only_device !== null;
    for (let attempt = 0; ; attempt++) {
      if (payload === undefined) {
        payload = await encryptFor(row.recipient, blob(row.content), row.only_device);
        q.setPayload.run(JSON.stringify(payload), row.seq);
      }
      if (payload.length === 0) return; // nothing to send to (e.g. no other own devices)
      try {
        await requireLink().request('send', {
          name: row.recipient,
          messageId: row.transport_id,
          messages: payload,
          ...(subset ? { resend: true } : {}),
        });
        return;
      } catch (err) {
        if (!isRelayRefusal(err, 'STALE_DEVICES') || attempt >= MAX_STALE_RETRIES) throw err;
        await refreshContact(row.recipient);
        const listed = listedDevices(row.recipient);
        const claimed = (err.details as StaleDevicesDetails | undefined)?.missing ?? [];
        for (const ghost of claimed.filter((id) => !listed.includes(id))) {
          // A device the server has but the account key never signed: the "ghost". Never encrypt to it.
          events.emit({ type: 'unlisted-device', from: row.recipient, fromDevice: ghost });
          subset = true;
        }
        payload = undefined;
      }
    }
  };

  const runOutbox = async (): Promise<void> => {
    // Recipients skipped for the rest of this pass, with the error their waiting senders get.
    const blocked = new Map<string, unknown>();
    const reject = (row: OutboxRow, err: unknown): void => {
      const w = waiters.get(row.message_id);
      waiters.delete(row.message_id);
      w?.reject(err);
    };
    for (const row of q.outbox.all() as OutboxRow[]) {
      if (blocked.has(row.recipient)) {
        const err = blocked.get(row.recipient);
        if (err !== undefined) reject(row, err);
        continue;
      }
      try {
        await deliverRow(row);
        finish(row);
      } catch (err) {
        if (isClientError(err, 'SERVER_UNREACHABLE') || isClientError(err, 'TIMEOUT') || isClientError(err, 'CLOSED'))
          return;
        if (isClientError(err, 'UNTRUSTED_IDENTITY')) {
          // Kept in the outbox until the user accepts the new key; the caller hears why now.
          blocked.set(row.recipient, err);
          reject(row, err);
          continue;
        }
        if (isRelayRefusal(err, 'RATE_LIMITED') || isRelayRefusal(err, 'QUEUE_FULL')) {
          // Transient: leave the row, and flush again once the server's hint has passed.
          blocked.set(row.recipient, undefined);
          const hint = (err.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
          retryLater(typeof hint === 'number' ? hint : OUTBOX_RETRY_MS);
          continue;
        }
        finish(row, err);
      }
    }
  };

  // One pending retry at a time; unref'd so a waiting retry never keeps a process alive.
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  const retryLater = (ms: number): void => {
    if (retryTimer !== undefined) return;
    retryTimer = setTimeout(
      () => {
        retryTimer = undefined;
        flushOutbox();
      },
      Math.min(Math.max(ms, 50), MAX_OUTBOX_RETRY_MS),
    );
    (retryTimer as { unref?: () => void }).unref?.();
  };

  const flushOutbox = (): void => {
    if (outboxQueued) return;
    outboxQueued = true;
    outbox = outbox.then(async () => {
      outboxQueued = false;
      if (deps.link()?.isConnected()) await runOutbox();
    });
  };

  const queueContent = (content: TextContent | ReceiptContent, recipient: string, only: number | null): void => {
    q.insertOutbox.run(content.id, recipient, newId(), encodeContent(content), only, clock());
  };

  const send = async (to: string, text: string, wait: boolean, signal?: AbortSignal): Promise<{ id: string }> => {
    if (to === me) throw new ClientError('INVALID_ARGUMENT', 'sending to your own account is not supported yet');
    if (utf8(text).length > MAX_TEXT_BYTES)
      throw new ClientError('INVALID_ARGUMENT', `messages are limited to ${MAX_TEXT_BYTES} bytes`);
    const content: TextContent = { v: 1, id: newId(), ts: clock(), text };
    db.transaction(() => {
      q.insertMessage.run(content.id, to, 'out', me, myDevice, text, content.ts, null, 'pending');
      queueContent(content, to, null);
      if (listedDevices(me).length > 0) queueContent({ ...content, to }, me, null);
    })();
    const done = wait
      ? new Promise<void>((resolve, reject) => waiters.set(content.id, { resolve, reject }))
      : Promise.resolve();
    flushOutbox();
    const queued = (): ClientError =>
      new ClientError('QUEUED', 'not sent yet; the message is queued and will be sent when the server is reachable');
    if (wait && signal === undefined && !deps.link()?.isConnected()) {
      waiters.delete(content.id);
      throw queued();
    }
    // The caller stops waiting: a message the outbox has not finished stays in it.
    const waiter = waiters.get(content.id);
    const onAbort = (): void => {
      if (waiter === undefined || waiters.get(content.id) !== waiter) return;
      waiters.delete(content.id);
      waiter.reject(queued());
    };
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

  // ---- inbox ----

  const sendRetryRequest = async (f: Deliver): Promise<void> => {
    const body = utf8(JSON.stringify({ v: 1, messageId: f.messageId }));
    await requireLink().request('send', {
      name: f.from,
      messageId: newId(),
      messages: [{ device: f.fromDevice, kind: 'retry', body: toBase64Url(body) }],
      resend: true,
    });
  };

  const handleRetry = async (f: Deliver): Promise<void> => {
    let transportId: unknown;
    try {
      transportId = JSON.parse(new TextDecoder().decode(fromBase64Url('body', f.body))).messageId;
    } catch {
      return;
    }
    if (typeof transportId !== 'string') return;
    const sent = q.getSent.get(transportId) as
      | { message_id: string; recipient: string; identities: string; created_at: number }
      | undefined;
    // Only the recipient of the message (or our own other devices) may ask for it again…
    if (sent === undefined || sent.recipient !== f.from) return;
    // …and only with the device identity it was first encrypted for: a new key (a reinstall, or
    // a server posing as the contact) never gets messages that were meant for the old one.
    const originalIdentity = (JSON.parse(sent.identities) as Record<string, string>)[String(f.fromDevice)];
    if (originalIdentity === undefined || originalIdentity !== identitiesOf(f.from)[f.fromDevice]) return;
    const address = `${f.from}.${f.fromDevice}`;
    const count = (q.bumpResend.get(transportId, address) as { count: number }).count;
    if (count > MAX_RESENDS) return;
    const original = q.getOwnMessage.get(me, sent.message_id) as Record<string, unknown> | undefined;
    if (original === undefined) return;
    // Rebuild the session unless it was already rebuilt after this message was sent.
    const resetKey = `session_reset:${address}`;
    const lastReset =
      (db.prepare('SELECT value FROM profile WHERE key = ?').get(resetKey) as { value: number } | undefined)?.value ??
      0;
    if (lastReset <= sent.created_at) {
      stores.sessionStore.deleteSession({ account: f.from, device: f.fromDevice });
      db.prepare('INSERT OR REPLACE INTO profile (key, value) VALUES (?, ?)').run(resetKey, clock());
    }
    const content: TextContent = {
      v: 1,
      id: original.id as string,
      ts: original.sent_at as number,
      text: original.text as string,
      ...(f.from === me ? { to: original.peer as string } : {}),
    };
    queueContent(content, f.from, f.fromDevice);
    flushOutbox();
  };

  const store = (f: Deliver, content: TextContent): void => {
    const fromSelf = f.from === me;
    const peer = fromSelf ? content.to : f.from;
    if (peer === undefined) return;
    const receivedAt = clock();
    const inserted = q.insertMessage.run(
      content.id,
      peer,
      fromSelf ? 'out' : 'in',
      f.from,
      f.fromDevice,
      content.text,
      content.ts,
      receivedAt,
      fromSelf ? 'sent' : 'received',
    ).changes;
    if (inserted === 1) {
      const row = q.getOwnMessage.get(f.from, content.id) as Record<string, unknown>;
      if (!fromSelf && deps.receipts) delivered.set(f.from, [...(delivered.get(f.from) ?? []), content.id]);
      events.emit({ type: 'message', message: toStored(row) });
    }
  };

  // ---- receipts (docs/protocol.md §12) ----

  /** Delivery receipts owed, by sender; sent in one receipt per sender once the inbox is idle. */
  const delivered = new Map<string, string[]>();

  const queueReceipt = (to: string, receipt: ReceiptContent['receipt'], ids: readonly string[]): void => {
    for (let i = 0; i < ids.length; i += MAX_RECEIPT_IDS) {
      const content: ReceiptContent = {
        v: 1,
        id: newId(),
        ts: clock(),
        receipt,
        ids: ids.slice(i, i + MAX_RECEIPT_IDS),
      };
      queueContent(content, to, null);
    }
  };

  const flushDelivered = (): void => {
    if (delivered.size === 0) return;
    db.transaction(() => {
      for (const [to, ids] of delivered) queueReceipt(to, 'delivered', ids);
    })();
    delivered.clear();
    flushOutbox();
  };

  /** Applies a receipt from `from` to our messages to them; receipts from our own devices are ignored. */
  const applyReceipt = (from: string, r: ReceiptContent): void => {
    if (from === me) return;
    const changed = r.ids.filter((id) => q.advance.run(r.receipt, me, id, from, r.receipt).changes === 1);
    if (changed.length > 0) events.emit({ type: 'receipt', peer: from, status: r.receipt, ids: changed });
  };

  const markRead = (peer: string): void => {
    const last = q.lastRow.get(peer) as number | null;
    if (last === null) return;
    const before = (q.readRow.get(peer) as number | undefined) ?? 0;
    if (last <= before) return;
    db.transaction(() => {
      q.setRead.run(peer, last);
      // Read receipts for one-to-one conversations; group messages get none.
      if (deps.receipts && !peer.startsWith('group:')) {
        const ids = q.unreadIds.all(peer, peer, before) as string[];
        if (ids.length > 0) queueReceipt(peer, 'read', ids);
      }
    })();
    flushOutbox();
  };

  /**
   * A sender device identity that is not the one on the pinned list: ask the server for the
   * current list. A changed account key holds the message until the user accepts it; a newer
   * list signed by the pinned key is taken and the message retried; anything else is dropped.
   */
  const untrustedSender = async (f: Deliver): Promise<void> => {
    // The list's signature identifies it: a new one (newer version, or a new key's list) is worth a retry.
    const before = contacts.get(f.from)?.deviceList.signature;
    try {
      await refreshContact(f.from);
    } catch (err) {
      if (!isClientError(err, 'UNTRUSTED_IDENTITY')) throw err;
    }
    const c = contacts.get(f.from);
    if (c?.pendingKey !== undefined) {
      q.hold.run(f.seq, f.from, f.fromDevice, f.messageId, f.kind, fromBase64Url('body', f.body), f.serverTime);
    } else if (c !== undefined && (before === undefined || !constantTimeEqual(c.deviceList.signature, before))) {
      await processDelivery(f);
    } else {
      events.emit({ type: 'unlisted-device', from: f.from, fromDevice: f.fromDevice });
    }
  };

  /** Processes one delivery; when it returns (not throws), the delivery may be acknowledged. */
  async function processDelivery(f: Deliver): Promise<void> {
    if (f.kind === 'retry') {
      await handleRetry(f);
      return;
    }
    const address = { account: f.from, device: f.fromDevice };
    if (f.from === me && !listedDevices(me).includes(f.fromDevice)) {
      await refreshOwnList();
      if (!listedDevices(me).includes(f.fromDevice)) {
        events.emit({ type: 'unlisted-device', from: f.from, fromDevice: f.fromDevice });
        return;
      }
    }
    if (f.from !== me) {
      let c = contacts.get(f.from);
      if (c === undefined || (c.pendingKey === undefined && !listedDevices(f.from).includes(f.fromDevice))) {
        try {
          await refreshContact(f.from);
        } catch (err) {
          if (!isClientError(err, 'UNTRUSTED_IDENTITY')) throw err;
        }
        c = contacts.get(f.from);
      }
      if (c?.pendingKey !== undefined) {
        q.hold.run(f.seq, f.from, f.fromDevice, f.messageId, f.kind, fromBase64Url('body', f.body), f.serverTime);
        return;
      }
      if (!listedDevices(f.from).includes(f.fromDevice)) {
        events.emit({ type: 'unlisted-device', from: f.from, fromDevice: f.fromDevice });
        return;
      }
    }
    let plaintext: Uint8Array;
    try {
      plaintext = await decrypt(ctx, address, fromBase64Url('body', f.body));
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
    const content = decodeContent(plaintext);
    if (content !== undefined) store(f, content);
    else {
      const receipt = decodeReceipt(plaintext);
      if (receipt !== undefined) applyReceipt(f.from, receipt);
    }
  }

  // Deliveries queued in the inbox and not yet processed: receipts go out when it reaches 0.
  let inboxDepth = 0;
  const receive = (f: Deliver): void => {
    inboxDepth++;
    inbox = inbox.then(async () => {
      try {
        await processDelivery(f);
        deps.link()?.ack(f.seq);
      } catch {
        // Not acknowledged: the server delivers it again on the next connection.
      } finally {
        if (--inboxDepth === 0) flushDelivered();
      }
    });
  };

  const releaseHeld = async (name: string): Promise<void> => {
    const rows = q.held.all(name) as Record<string, unknown>[];
    for (const r of rows) {
      const f: Deliver = {
        type: 'deliver',
        seq: r.seq as number,
        from: r.sender as string,
        fromDevice: r.sender_device as number,
        messageId: r.message_id as string,
        kind: r.kind as Deliver['kind'],
        body: toBase64Url(blob(r.body)),
        serverTime: r.server_time as number,
      };
      inbox = inbox.then(async () => {
        try {
          await processDelivery(f);
          q.unhold.run(f.seq);
        } catch {
          // Stays held; released again on the next accept.
        }
      });
    }
    await inbox;
  };

  const acceptIdentity = async (name: string): Promise<void> => {
    const old = contacts.get(name);
    if (old === undefined) throw new ClientError('UNKNOWN_ACCOUNT', `no contact named ${name}`);
    if (old.pendingKey !== undefined) {
      contacts.acceptPending(name);
      for (const d of old.deviceList.devices) stores.sessionStore.deleteSession({ account: name, device: d.id });
    }
    await releaseHeld(name);
    flushDelivered();
    flushOutbox();
  };

  return {
    send,
    flushOutbox,
    receive,
    acceptIdentity,
    async idle() {
      await inbox;
      await outbox;
    },
    refreshContact,
    checkServed,
    trustedDevices: devicesOf,
    history(peer, limit) {
      return (q.history.all(peer, limit) as Record<string, unknown>[]).map(toStored);
    },
    conversations() {
      return (q.conversations.all() as Record<string, unknown>[]).map((r) => ({
        peer: r.peer as string,
        last: toStored(r),
        unread: r.unread as number,
      }));
    },
    markRead,
  };
}
