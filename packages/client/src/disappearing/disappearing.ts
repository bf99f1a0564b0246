/**
 * Disappearing messages on this device (docs/protocol.md §21): each conversation's timer, each
 * line's expiry time, and the sweep that deletes what has expired.
 *
 * The clock of a line starts when this device stores it: when it is sent (our own line, on the
 * sending device), when it arrives (on every other device, our own included). Not at read: a
 * message nobody opens must still go, every copy is gone at most one timer after it reached its
 * device whatever the user does, and no device depends on another's clock or on read state
 * that is synced late (the sender's `ts` is not used, so a skewed or lying sender clock cannot
 * make a message live longer or vanish at once). docs/protocol.md §21 says so too.
 *
 * Deleting a line deletes its text (with an attachment's line), its search entry (the index
 * follows the table, secure-delete on), its earlier texts (edits), its reactions, the snippet
 * of it that replies quote, and any copy still waiting in an outbox unsent.
 */
import type { HomeDatabase } from '../home/database.ts';
import type { ProfileStore } from '../home/profile.ts';
import { statement, valueStatement } from '../home/statement.ts';
import { isTimerSeconds, type TimerSeconds } from './timers.ts';

/** Lines that expired in one conversation. */
export interface Expired {
  readonly peer: string;
  readonly ids: readonly string[];
}

/** The disappearing-message state of the home. */
export interface Disappearing {
  /** The conversation's timer, or undefined when off. */
  timer(peer: string): TimerSeconds | undefined;
  /** Saves the conversation's timer (undefined: off). */
  setTimer(peer: string, seconds: TimerSeconds | undefined): void;
  /** Starts the clock of `sender`'s line `id`: it expires `seconds` after `storedAt`. */
  start(sender: string, id: string, seconds: number, storedAt: number): void;
  /** Deletes every line expired by `now`; says which, by conversation. */
  sweep(now: number): Expired[];
  /** When the next line expires (ms), if any does. */
  next(): number | undefined;
}

interface ExpiredRow {
  readonly row: number;
  readonly id: string;
  readonly peer: string;
  readonly sender: string;
  readonly direction: string;
}

/** The disappearing-message state over the home database and its profile settings. */
export function createDisappearing(db: HomeDatabase, profiles: ProfileStore): Disappearing {
  const q = {
    start: statement<[number, string, string]>(
      db,
      'UPDATE messages SET expires_at = ? WHERE sender = ? AND id = ? AND expires_at IS NULL',
    ),
    due: statement<[number], ExpiredRow>(
      db,
      'SELECT row, id, peer, sender, direction FROM messages WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY row',
    ),
    remove: statement<[number]>(db, 'DELETE FROM messages WHERE row = ?'),
    dropEdits: statement<[string, string]>(db, 'DELETE FROM message_edits WHERE sender = ? AND message_id = ?'),
    dropReactions: statement<[string, string]>(db, 'DELETE FROM reactions WHERE msg_sender = ? AND msg_id = ?'),
    blankQuotes: statement<[string, string, string]>(
      db,
      `UPDATE messages SET reply_snip = '' WHERE peer = ? AND reply_from = ? AND reply_id = ?`,
    ),
    dropOutbox: statement<[string, string, string]>(
      db,
      'DELETE FROM outbox WHERE message_id = ? AND recipient IN (?, ?)',
    ),
    dropGroupOutbox: statement<[string]>(db, 'DELETE FROM group_outbox WHERE message_id = ?'),
    next: valueStatement<[], number | null>(db, 'SELECT MIN(expires_at) FROM messages WHERE expires_at IS NOT NULL'),
  };
  const key = (peer: string): string => `disappearing:${peer}`;
  return {
    timer(peer) {
      const s = profiles.getNumber(key(peer));
      return isTimerSeconds(s) ? s : undefined;
    },
    setTimer(peer, seconds) {
      profiles.setNumber(key(peer), seconds ?? 0);
    },
    start(sender, id, seconds, storedAt) {
      q.start.run(storedAt + seconds * 1000, sender, id);
    },
    sweep(now) {
      const due = q.due.all(now);
      if (due.length === 0) return [];
      const byPeer = new Map<string, string[]>();
      db.transaction(() => {
        for (const r of due) {
          q.remove.run(r.row);
          // Its edit history, reactions and quoted snippets would outlive it (as for a delete for everyone).
          q.dropEdits.run(r.sender, r.id);
          q.dropReactions.run(r.sender, r.id);
          q.blankQuotes.run(r.peer, r.sender, r.id);
          // A copy not yet sent goes too: it would outlive its own timer at the recipient.
          if (r.direction === 'out') {
            q.dropOutbox.run(r.id, r.peer, r.sender);
            q.dropGroupOutbox.run(r.id);
          }
          const ids = byPeer.get(r.peer) ?? [];
          ids.push(r.id);
          byPeer.set(r.peer, ids);
        }
      })();
      return [...byPeer].map(([peer, ids]) => ({ peer, ids }));
    },
    next: () => q.next.get() ?? undefined,
  };
}
