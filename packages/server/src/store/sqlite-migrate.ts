/**
 * The SQLite database's file name and its migration runner, apart from the store
 * (`sqlite-storage.ts`) so that the server's event loop and every importer of `@parley/server`
 * can name the file without loading better-sqlite3's native module: only the storage thread
 * opens the database. better-sqlite3 is imported for its types only; the name rules come from
 * `@parley/protocol/names`, so the storage thread does not load the protocol's crypto core.
 */
import { accountNameSkeleton } from '@parley/protocol/names';
import type Database from 'better-sqlite3';
import { type Migration, SQLITE_MIGRATIONS } from './migrations.ts';

/** File name of the database inside the data directory. */
export const SQLITE_FILE = 'parley.sqlite';

/** Applies every migration newer than the database's recorded version. */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[] = SQLITE_MIGRATIONS): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
  const applied = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const ran: number[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.up);
      db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)').run(m.version, Date.now());
    }).immediate();
    ran.push(m.version);
  }
  fillSkeletons(db);
  return ran;
}

/**
 * Gives accounts created before migration 5 their name skeleton, oldest first; an account whose
 * skeleton an older one already has (a lookalike registered before the rule) keeps none.
 */
function fillSkeletons(db: Database.Database): void {
  const cols = db.prepare("SELECT 1 FROM pragma_table_info('accounts') WHERE name = 'skeleton'").get();
  if (cols === undefined) return;
  const rows = db.prepare('SELECT name FROM accounts WHERE skeleton IS NULL ORDER BY created_at, name').all() as {
    name: string;
  }[];
  const set = db.prepare('UPDATE OR IGNORE accounts SET skeleton = ? WHERE name = ?');
  db.transaction(() => {
    for (const r of rows) set.run(accountNameSkeleton(r.name), r.name);
  }).immediate();
}
