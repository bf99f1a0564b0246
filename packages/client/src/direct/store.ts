/**
 * The one-to-one conversation tables, each row type declared once: the message history (shared
 * with groups, which write their lines through `group-core.ts`), where each conversation was
 * read up to, the outbox, the log of what was sent to whom (for retry requests), resend counts,
 * and messages held while a contact's key change waits for the user.
 */
import type { DeliveryKind } from '@parley/protocol';
import type { MessageRow, StoredMessage } from '../events.ts';
import { blob, type HomeDatabase } from '../home/database.ts';
import { statement, valueStatement } from '../home/statement.ts';

/** An `outbox` row: one message (or receipt) to one account, or to one of its devices. */
export interface OutboxRow {
  readonly seq: number;
  /** The content's id (a history line's id, or a receipt's). */
  readonly message_id: string;
  readonly recipient: string;
  /** The relay's message id for this send: repeating it stores nothing twice. */
  readonly transport_id: string;
  readonly content: Uint8Array;
  /** The encrypted fan-out (JSON `WireOutgoing[]`) once made, so a retry repeats the same ciphertexts. */
  readonly payload: string | null;
  /** Set for a resend to one device (answering its retry request). */
  readonly only_device: number | null;
}

/** A `sent` row: what a transport id carried, to whom, encrypted for which device identities. */
export interface SentRow {
  readonly transport_id: string;
  readonly message_id: string;
  readonly recipient: string;
  /** JSON: base64url device identity by device id. */
  readonly identities: string;
  readonly created_at: number;
}

/** A `held` row: a delivery kept until the user accepts its sender's new key. */
export interface HeldRow {
  readonly seq: number;
  readonly sender: string;
  readonly sender_device: number;
  readonly message_id: string;
  readonly kind: DeliveryKind;
  readonly body: Uint8Array;
  readonly server_time: number;
}

/** A conversation's last line with its unread count. */
export type ConversationRow = MessageRow & { readonly unread: number };

/** A new line of the history. */
export interface NewMessage {
  readonly id: string;
  readonly peer: string;
  readonly direction: StoredMessage['direction'];
  readonly sender: string;
  readonly senderDevice: number;
  readonly text: string;
  readonly sentAt: number;
  readonly receivedAt: number | null;
  readonly status: StoredMessage['status'];
}

/** The direct-messaging tables' operations. */
export interface DirectStore {
  /** Stores a line once per (sender, id); returns whether it was new. */
  insertMessage(m: NewMessage): boolean;
  message(sender: string, id: string): MessageRow | undefined;
  setStatus(sender: string, id: string, status: StoredMessage['status']): void;
  /** `pending`/`failed` → `sent` for our own line. */
  markSent(sender: string, id: string): void;
  /** Moves our outgoing line to `peer` forward to `status` (sent → delivered → read); returns whether it moved. */
  advance(sender: string, id: string, peer: string, status: 'delivered' | 'read'): boolean;
  history(peer: string, limit: number): MessageRow[];
  conversations(): ConversationRow[];
  lastRow(peer: string): number | undefined;
  readRow(peer: string): number;
  setReadRow(peer: string, row: number): void;
  /** Ids of `sender`'s lines in `peer` after `row`, oldest first. */
  unreadIds(peer: string, sender: string, after: number): string[];
  /** When a message from this device was last received (ms), if ever. */
  lastSeen(sender: string, device: number): number | undefined;

  queueOutbox(
    messageId: string,
    recipient: string,
    transportId: string,
    content: Uint8Array,
    only: number | null,
    now: number,
  ): void;
  /**
   * The outbox entries to send, oldest first: not those of messages held because their
   * recipient's key changed (`status = 'held'`; released by setting them back to `pending`).
   */
  outbox(): OutboxRow[];
  /** Moves our line `id` to the end of its conversation (a held message goes after the change line). */
  moveToEnd(sender: string, id: string): void;
  /** Ids of our messages to `peer` held for a key change, oldest first. */
  heldOut(sender: string, peer: string): string[];
  /** Drops the outbox entries of message `id` to `recipient` (a discarded held message). */
  dropOutboxOf(messageId: string, recipient: string): void;
  /** Drops the queued resends (answers to retry requests) to `recipient`: they were meant for its old key. */
  dropResends(recipient: string): void;
  setPayload(seq: number, payload: string): void;
  dropOutbox(seq: number): void;

  recordSent(transportId: string, messageId: string, recipient: string, identities: string, now: number): void;
  sent(transportId: string): SentRow | undefined;
  /** Counts one more resend of a transport id to a device address; returns the new count. */
  bumpResend(transportId: string, address: string): number;

  hold(row: HeldRow): void;
  held(sender: string): HeldRow[];
  unhold(seq: number): void;

  transaction<T>(fn: () => T): T;
}

/** Creates the store over the home database (tables from migrations 1 and 3). */
export function createDirectStore(db: HomeDatabase): DirectStore {
  const q = {
    insertMessage: statement<[string, string, string, string, number, string, number, number | null, string]>(
      db,
      `INSERT OR IGNORE INTO messages (id, peer, direction, sender, sender_device, text, sent_at, received_at, status)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    message: statement<[string, string], MessageRow>(db, 'SELECT * FROM messages WHERE sender = ? AND id = ?'),
    setStatus: statement<[string, string, string]>(db, 'UPDATE messages SET status = ? WHERE sender = ? AND id = ?'),
    markSent: statement<[string, string]>(
      db,
      `UPDATE messages SET status = 'sent' WHERE sender = ? AND id = ? AND status IN ('pending', 'failed')`,
    ),
    // A receipt only moves an outgoing message to the recipient forward: sent → delivered → read.
    advance: statement<[string, string, string, string, string]>(
      db,
      `UPDATE messages SET status = ? WHERE sender = ? AND id = ? AND peer = ? AND direction = 'out'
         AND status IN ('pending', 'sent', 'failed', 'delivered') AND status <> ?`,
    ),
    history: statement<[string, number], MessageRow>(
      db,
      'SELECT * FROM (SELECT * FROM messages WHERE peer = ? ORDER BY row DESC LIMIT ?) ORDER BY row',
    ),
    conversations: statement<[], ConversationRow>(
      db,
      `SELECT m.*, (SELECT COUNT(*) FROM messages i WHERE i.peer = m.peer AND i.direction = 'in'
                     AND i.row > COALESCE(r.read_row, 0)) AS unread
       FROM messages m LEFT JOIN conversation_reads r ON r.peer = m.peer
       WHERE m.row IN (SELECT MAX(row) FROM messages GROUP BY peer)
       ORDER BY m.row DESC`,
    ),
    lastRow: valueStatement<[string], number | null>(db, 'SELECT MAX(row) FROM messages WHERE peer = ?'),
    readRow: valueStatement<[string], number>(db, 'SELECT read_row FROM conversation_reads WHERE peer = ?'),
    setReadRow: statement<[string, number]>(
      db,
      'INSERT OR REPLACE INTO conversation_reads (peer, read_row) VALUES (?, ?)',
    ),
    unreadIds: valueStatement<[string, string, number], string>(
      db,
      `SELECT id FROM messages WHERE peer = ? AND sender = ? AND direction = 'in' AND row > ? ORDER BY row`,
    ),
    lastSeen: valueStatement<[string, number], number | null>(
      db,
      'SELECT MAX(received_at) FROM messages WHERE sender = ? AND sender_device = ?',
    ),
    queueOutbox: statement<[string, string, string, Uint8Array, number | null, number]>(
      db,
      `INSERT INTO outbox (message_id, recipient, transport_id, content, only_device, created_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    outbox: statement<[], OutboxRow>(
      db,
      `SELECT seq, message_id, recipient, transport_id, content, payload, only_device FROM outbox o
       WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = o.message_id AND m.peer = o.recipient
                           AND m.direction = 'out' AND m.status = 'held')
       ORDER BY seq`,
    ),
    // AUTOINCREMENT takes the next row after the largest there is, so later lines still come after.
    moveToEnd: statement<[string, string]>(
      db,
      'UPDATE messages SET row = (SELECT MAX(row) + 1 FROM messages) WHERE sender = ? AND id = ?',
    ),
    heldOut: valueStatement<[string, string], string>(
      db,
      `SELECT id FROM messages WHERE sender = ? AND peer = ? AND direction = 'out' AND status = 'held' ORDER BY row`,
    ),
    dropOutboxOf: statement<[string, string]>(db, 'DELETE FROM outbox WHERE message_id = ? AND recipient = ?'),
    dropResends: statement<[string]>(db, 'DELETE FROM outbox WHERE recipient = ? AND only_device IS NOT NULL'),
    setPayload: statement<[string, number]>(db, 'UPDATE outbox SET payload = ? WHERE seq = ?'),
    dropOutbox: statement<[number]>(db, 'DELETE FROM outbox WHERE seq = ?'),
    recordSent: statement<[string, string, string, string, number]>(
      db,
      'INSERT OR REPLACE INTO sent (transport_id, message_id, recipient, identities, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    sent: statement<[string], SentRow>(db, 'SELECT * FROM sent WHERE transport_id = ?'),
    bumpResend: valueStatement<[string, string], number>(
      db,
      `INSERT INTO resends (transport_id, address, count) VALUES (?, ?, 1)
       ON CONFLICT (transport_id, address) DO UPDATE SET count = count + 1 RETURNING count`,
    ),
    hold: statement<[number, string, number, string, string, Uint8Array, number]>(
      db,
      `INSERT OR IGNORE INTO held (seq, sender, sender_device, message_id, kind, body, server_time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    held: statement<[string], HeldRow>(db, 'SELECT * FROM held WHERE sender = ? ORDER BY seq'),
    unhold: statement<[number]>(db, 'DELETE FROM held WHERE seq = ?'),
  };

  return {
    insertMessage: (m) =>
      q.insertMessage.run(m.id, m.peer, m.direction, m.sender, m.senderDevice, m.text, m.sentAt, m.receivedAt, m.status)
        .changes === 1,
    message: (sender, id) => q.message.get(sender, id),
    setStatus(sender, id, status) {
      q.setStatus.run(status, sender, id);
    },
    markSent(sender, id) {
      q.markSent.run(sender, id);
    },
    advance: (sender, id, peer, status) => q.advance.run(status, sender, id, peer, status).changes === 1,
    history: (peer, limit) => q.history.all(peer, limit),
    conversations: () => q.conversations.all(),
    lastRow: (peer) => q.lastRow.get(peer) ?? undefined,
    readRow: (peer) => q.readRow.get(peer) ?? 0,
    setReadRow(peer, row) {
      q.setReadRow.run(peer, row);
    },
    unreadIds: (peer, sender, after) => q.unreadIds.all(peer, sender, after),
    lastSeen: (sender, device) => q.lastSeen.get(sender, device) ?? undefined,
    queueOutbox(messageId, recipient, transportId, content, only, now) {
      q.queueOutbox.run(messageId, recipient, transportId, content, only, now);
    },
    outbox: () => q.outbox.all().map((r) => ({ ...r, content: blob(r.content) })),
    moveToEnd(sender, id) {
      q.moveToEnd.run(sender, id);
    },
    heldOut: (sender, peer) => q.heldOut.all(sender, peer),
    dropOutboxOf(messageId, recipient) {
      q.dropOutboxOf.run(messageId, recipient);
    },
    dropResends(recipient) {
      q.dropResends.run(recipient);
    },
    setPayload(seq, payload) {
      q.setPayload.run(payload, seq);
    },
    dropOutbox(seq) {
      q.dropOutbox.run(seq);
    },
    recordSent(transportId, messageId, recipient, identities, now) {
      q.recordSent.run(transportId, messageId, recipient, identities, now);
    },
    sent: (transportId) => q.sent.get(transportId),
    bumpResend: (transportId, address) => q.bumpResend.get(transportId, address) ?? 1,
    hold(r) {
      q.hold.run(r.seq, r.sender, r.sender_device, r.message_id, r.kind, r.body, r.server_time);
    },
    held: (sender) => q.held.all(sender).map((r) => ({ ...r, body: blob(r.body) })),
    unhold(seq) {
      q.unhold.run(seq);
    },
    transaction: (fn) => db.transaction(fn)(),
  };
}
