/**
 * The tables of migration 7 (docs/protocol.md §12.1), each row type declared once: a line's
 * kind and the message it quotes, edits (with each earlier text), deletes for everyone
 * (tombstones) and reactions (one per account per message). Lines themselves are written by
 * the one-to-one store and the group core; this store annotates them.
 */
import type { MessageRow } from '../events.ts';
import type { HomeDatabase } from '../home/database.ts';
import { statement } from '../home/statement.ts';

/** A `reactions` row. */
export interface ReactionRow {
  readonly msg_sender: string;
  readonly msg_id: string;
  readonly reactor: string;
  readonly emoji: string;
  readonly reacted_at: number;
}

/** A `message_edits` row: the text a message had before an edit. */
export interface EditRow {
  readonly sender: string;
  readonly message_id: string;
  readonly edit_id: string;
  readonly previous_text: string;
  readonly edited_at: number;
}

/** The operations. */
export interface ConversationStore {
  /** The line `id` of `sender` in conversation `peer`. */
  line(peer: string, sender: string, id: string): MessageRow | undefined;
  /** Every line in `peer` with id `id` (any sender). */
  linesWithId(peer: string, id: string): MessageRow[];
  /** Marks a stored line as content of a later version. */
  markUnsupported(sender: string, id: string): void;
  /** Sets the quote of a stored reply. */
  setReply(sender: string, id: string, quote: { id: string; from: string; snip: string }): void;
  /** Records an edit (returns false when this edit id was seen already); replaces the text if newer. */
  edit(sender: string, id: string, editId: string, text: string, editedAt: number): boolean;
  /** The earlier texts of a message, oldest first. */
  edits(sender: string, id: string): EditRow[];
  /** Deletes a line for everyone: empties its text, edits, reactions, quotes of it, and queued sends of it. */
  tombstone(peer: string, sender: string, id: string, deletedAt: number, ours: boolean): void;
  /** Sets (or, with `null`, removes) `reactor`'s reaction; older than the stored one changes nothing. */
  react(sender: string, id: string, reactor: string, emoji: string | null, at: number): void;
  reactions(sender: string, id: string): ReactionRow[];
  transaction<T>(fn: () => T): T;
}

/** Creates the store over the home database. */
export function createConversationStore(db: HomeDatabase): ConversationStore {
  const q = {
    line: statement<[string, string, string], MessageRow>(
      db,
      'SELECT * FROM messages WHERE peer = ? AND sender = ? AND id = ?',
    ),
    linesWithId: statement<[string, string], MessageRow>(db, 'SELECT * FROM messages WHERE peer = ? AND id = ?'),
    markUnsupported: statement<[string, string]>(
      db,
      `UPDATE messages SET kind = 'unsupported' WHERE sender = ? AND id = ?`,
    ),
    setReply: statement<[string, string, string, string, string]>(
      db,
      'UPDATE messages SET reply_id = ?, reply_from = ?, reply_snip = ? WHERE sender = ? AND id = ?',
    ),
    addEdit: statement<[string, string, string, number, string, string]>(
      db,
      `INSERT OR IGNORE INTO message_edits (sender, message_id, edit_id, previous_text, edited_at)
       SELECT ?, ?, ?, text, ? FROM messages WHERE sender = ? AND id = ?`,
    ),
    setText: statement<[string, number, string, string, number]>(
      db,
      `UPDATE messages SET text = ?, edited_at = ? WHERE sender = ? AND id = ? AND COALESCE(edited_at, sent_at) <= ?`,
    ),
    edits: statement<[string, string], EditRow>(
      db,
      'SELECT sender, message_id, edit_id, previous_text, edited_at FROM message_edits WHERE sender = ? AND message_id = ? ORDER BY seq',
    ),
    tombstone: statement<[number, string, string]>(
      db,
      `UPDATE messages SET text = '', deleted_at = ?, reply_snip = CASE WHEN reply_id IS NULL THEN NULL ELSE '' END
       WHERE sender = ? AND id = ?`,
    ),
    dropEdits: statement<[string, string]>(db, 'DELETE FROM message_edits WHERE sender = ? AND message_id = ?'),
    dropReactions: statement<[string, string]>(db, 'DELETE FROM reactions WHERE msg_sender = ? AND msg_id = ?'),
    blankQuotes: statement<[string, string, string]>(
      db,
      `UPDATE messages SET reply_snip = '' WHERE peer = ? AND reply_from = ? AND reply_id = ?`,
    ),
    dropOutbox: statement<[string]>(db, 'DELETE FROM outbox WHERE message_id = ?'),
    dropGroupOutbox: statement<[string]>(db, 'DELETE FROM group_outbox WHERE message_id = ?'),
    reaction: statement<[string, string, string], ReactionRow>(
      db,
      'SELECT * FROM reactions WHERE msg_sender = ? AND msg_id = ? AND reactor = ?',
    ),
    setReaction: statement<[string, string, string, string, number]>(
      db,
      'INSERT OR REPLACE INTO reactions (msg_sender, msg_id, reactor, emoji, reacted_at) VALUES (?, ?, ?, ?, ?)',
    ),
    dropReaction: statement<[string, string, string]>(
      db,
      'DELETE FROM reactions WHERE msg_sender = ? AND msg_id = ? AND reactor = ?',
    ),
    reactions: statement<[string, string], ReactionRow>(
      db,
      'SELECT * FROM reactions WHERE msg_sender = ? AND msg_id = ? ORDER BY reacted_at, reactor',
    ),
  };
  return {
    line: (peer, sender, id) => q.line.get(peer, sender, id),
    linesWithId: (peer, id) => q.linesWithId.all(peer, id),
    markUnsupported(sender, id) {
      q.markUnsupported.run(sender, id);
    },
    setReply(sender, id, quote) {
      q.setReply.run(quote.id, quote.from, quote.snip, sender, id);
    },
    edit(sender, id, editId, text, editedAt) {
      // Each edit keeps the text it replaced; an edit older than the one shown only joins the history.
      if (q.addEdit.run(sender, id, editId, editedAt, sender, id).changes === 0) return false;
      q.setText.run(text, editedAt, sender, id, editedAt);
      return true;
    },
    edits: (sender, id) => q.edits.all(sender, id),
    tombstone(peer, sender, id, deletedAt, ours) {
      q.tombstone.run(deletedAt, sender, id);
      q.dropEdits.run(sender, id);
      q.dropReactions.run(sender, id);
      q.blankQuotes.run(peer, sender, id);
      // A send of ours still queued (with its text, or an attachment's key) never leaves.
      if (ours) {
        q.dropOutbox.run(id);
        q.dropGroupOutbox.run(id);
      }
    },
    react(sender, id, reactor, emoji, at) {
      const current = q.reaction.get(sender, id, reactor);
      if (current !== undefined && current.reacted_at > at) return;
      if (emoji === null) q.dropReaction.run(sender, id, reactor);
      else q.setReaction.run(sender, id, reactor, emoji, at);
    },
    reactions: (sender, id) => q.reactions.all(sender, id),
    transaction: (fn) => db.transaction(fn)(),
  };
}
