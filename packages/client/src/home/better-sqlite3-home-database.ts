/**
 * The home database on Node: one SQLite file in the home directory (mode 0600, in a 0700
 * directory) through better-sqlite3, WAL mode, `synchronous = FULL`.
 *
 * Writes are grouped: the first write opens a transaction, and it is committed (one fsync for
 * all of them) before the relay link sends anything — `durable()`, which the link awaits before
 * every frame, as it does for the browser's saved image — when the home closes, and at the end
 * of the event-loop turn that wrote. So nothing reaches the server (no acknowledgement, no
 * ciphertext) before the state it follows from is on disk, while a backlog of deliveries costs
 * one commit per turn instead of several per message (issue 19 item 6: a 10,000-message backlog
 * drained at ~150 messages/s, bound by fsyncs). A crash loses at most the writes of the turn
 * under way, none of which anything sent depends on: unacknowledged deliveries come again.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type DurableHomeDatabase, HOME_DB_FILE, type HomeStatement, migrateHomeDatabase } from './database.ts';

/** Opens (creating if needed) the home database in directory `home` and migrates it. */
export function openBetterSqlite3Home(home: string): DurableHomeDatabase {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, HOME_DB_FILE);
  const fresh = !existsSync(file);
  const db = new Database(file);
  if (fresh) chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  migrateHomeDatabase(db);
  return groupCommits(db);
}

/** `db` with its writes grouped into transactions committed by `durable()` (see the module comment). */
function groupCommits(db: Database.Database): DurableHomeDatabase {
  let open = false;
  // Transaction functions running now: a commit must wait until they return.
  let depth = 0;
  let timer: ReturnType<typeof setImmediate> | undefined;
  // Waiting for the open transaction's commit (events about what it wrote).
  let waiting: (() => void)[] = [];

  const commit = (): void => {
    if (timer !== undefined) clearImmediate(timer);
    timer = undefined;
    if (!open) return;
    try {
      // An error that rolled the transaction back (SQLITE_FULL, IOERR) leaves nothing to commit.
      if (db.open && db.inTransaction) db.exec('COMMIT');
    } finally {
      open = false;
      const run = waiting;
      waiting = [];
      for (const fn of run) fn();
    }
  };
  const begin = (): void => {
    if (open || depth > 0 || db.inTransaction) return;
    db.exec('BEGIN');
    open = true;
    // The end of this turn of the event loop: the deliveries a turn brings share one commit.
    timer = setImmediate(() => {
      timer = undefined;
      commit();
    });
  };

  const statement = (inner: Database.Statement): HomeStatement => {
    const s: HomeStatement = {
      run(...params) {
        begin();
        return inner.run(...params);
      },
      get: (...params) => inner.get(...params),
      all: (...params) => inner.all(...params),
      pluck() {
        inner.pluck();
        return s;
      },
    };
    return s;
  };

  return {
    prepare: (sql) => statement(db.prepare(sql)),
    exec(sql) {
      begin();
      return db.exec(sql);
    },
    transaction(fn) {
      // Inside the open group transaction better-sqlite3 runs `fn` in a savepoint: all or nothing still.
      const tx = db.transaction(fn);
      const run =
        <A extends unknown[], R>(variant: (...a: A) => R) =>
        (...args: A): R => {
          begin();
          depth++;
          try {
            return variant(...args);
          } finally {
            depth--;
          }
        };
      return Object.assign(run(tx), { immediate: run(tx.immediate) });
    },
    durable() {
      if (!open) return undefined;
      // Asked from inside a transaction function: committed right after it returns.
      if (depth > 0) return Promise.resolve().then(commit);
      try {
        commit();
        // Committed now: the caller (the relay link) sends at once, in order, as before grouping.
        return undefined;
      } catch (err) {
        return Promise.reject(err);
      }
    },
    afterCommit(fn) {
      if (open) waiting.push(fn);
      else fn();
    },
    close() {
      commit();
      return db.close();
    },
  };
}
