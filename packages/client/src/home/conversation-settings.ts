/**
 * What the person chose per conversation, kept on this device only (never sent anywhere):
 * archived (out of the main list), muted (no notifications), pinned (first in the list), and the
 * contacts they blocked. Forgetting a conversation deletes its history from this device.
 */
import type { HomeDatabase } from './database.ts';
import { statement, valueStatement } from './statement.ts';

/** One conversation's flags. */
export interface ConversationFlags {
  readonly archived: boolean;
  readonly muted: boolean;
  readonly pinned: boolean;
}

/** A flag that `set` changes. */
export type ConversationFlag = keyof ConversationFlags;

interface SettingsRow {
  readonly peer: string;
  readonly archived: number;
  readonly muted: number;
  readonly pinned: number;
}

/** The settings tables (migration 9). */
export interface ConversationSettings {
  /** Every conversation with a flag set, by peer. */
  all(): Map<string, ConversationFlags>;
  /** Sets one flag of `peer`; returns whether it changed. */
  set(peer: string, flag: ConversationFlag, on: boolean): boolean;
  isBlocked(name: string): boolean;
  /** Blocks or unblocks `name` (blocking drops what was queued to them other than our own lines, `me`'s); returns whether it changed. */
  setBlocked(name: string, on: boolean, now: number, me: string): boolean;
  /** Blocked accounts, by name. */
  blocked(): string[];
  /**
   * Deletes `peer`'s conversation from this device: its history, where it was read up to, its
   * flags, and whatever of ours to it was still queued. Returns how many lines were deleted.
   */
  forget(peer: string, me: string): number;
}

const FLAGS: readonly ConversationFlag[] = ['archived', 'muted', 'pinned'];

/** Creates the settings store. */
export function createConversationSettings(db: HomeDatabase): ConversationSettings {
  const q = {
    all: statement<[], SettingsRow>(db, 'SELECT peer, archived, muted, pinned FROM conversation_settings'),
    ensure: statement<[string]>(db, 'INSERT OR IGNORE INTO conversation_settings (peer) VALUES (?)'),
    // Column names come from FLAGS only, never from a caller.
    set: Object.fromEntries(
      FLAGS.map((f) => [
        f,
        statement<[number, string, number]>(
          db,
          `UPDATE conversation_settings SET ${f} = ? WHERE peer = ? AND ${f} <> ?`,
        ),
      ]),
    ) as Record<ConversationFlag, ReturnType<typeof statement<[number, string, number]>>>,
    tidy: statement<[string]>(
      db,
      'DELETE FROM conversation_settings WHERE peer = ? AND archived = 0 AND muted = 0 AND pinned = 0',
    ),
    isBlocked: valueStatement<[string], number>(db, 'SELECT 1 FROM blocked WHERE name = ?'),
    block: statement<[string, number]>(db, 'INSERT OR IGNORE INTO blocked (name, blocked_at) VALUES (?, ?)'),
    unblock: statement<[string]>(db, 'DELETE FROM blocked WHERE name = ?'),
    blocked: valueStatement<[], string>(db, 'SELECT name FROM blocked ORDER BY name'),
    // Receipts and notices queued to a blocked contact are not history lines: they never go out.
    dropQueuedTo: statement<[string, string]>(
      db,
      `DELETE FROM outbox WHERE recipient = ? AND message_id NOT IN (SELECT id FROM messages WHERE sender = ?)`,
    ),
    forgetOutbox: statement<[string, string]>(
      db,
      `DELETE FROM outbox WHERE message_id IN (SELECT id FROM messages WHERE peer = ? AND sender = ?)`,
    ),
    forgetGroupOutbox: statement<[string, string]>(
      db,
      `DELETE FROM group_outbox WHERE message_id IN (SELECT id FROM messages WHERE peer = ? AND sender = ?)`,
    ),
    forgetMessages: statement<[string]>(db, 'DELETE FROM messages WHERE peer = ?'),
    forgetRead: statement<[string]>(db, 'DELETE FROM conversation_reads WHERE peer = ?'),
    forgetSettings: statement<[string]>(db, 'DELETE FROM conversation_settings WHERE peer = ?'),
  };
  return {
    all() {
      const out = new Map<string, ConversationFlags>();
      for (const r of q.all.all()) {
        out.set(r.peer, { archived: r.archived !== 0, muted: r.muted !== 0, pinned: r.pinned !== 0 });
      }
      return out;
    },
    set(peer, flag, on) {
      if (!FLAGS.includes(flag)) throw new Error(`unknown conversation flag ${String(flag)}`);
      return db.transaction(() => {
        q.ensure.run(peer);
        const v = on ? 1 : 0;
        const changed = q.set[flag].run(v, peer, v).changes === 1;
        q.tidy.run(peer);
        return changed;
      })();
    },
    isBlocked: (name) => q.isBlocked.get(name) !== undefined,
    setBlocked(name, on, now, me) {
      return db.transaction(() => {
        if (!on) return q.unblock.run(name).changes === 1;
        const changed = q.block.run(name, now).changes === 1;
        q.dropQueuedTo.run(name, me);
        return changed;
      })();
    },
    blocked: () => q.blocked.all(),
    forget(peer, me) {
      return db.transaction(() => {
        q.forgetOutbox.run(peer, me);
        q.forgetGroupOutbox.run(peer, me);
        const n = q.forgetMessages.run(peer).changes;
        q.forgetRead.run(peer);
        q.forgetSettings.run(peer);
        return n;
      })();
    },
  };
}
