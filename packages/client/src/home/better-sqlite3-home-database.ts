/**
 * The home database on Node: one SQLite file in the home directory (mode 0600, in a 0700
 * directory) through better-sqlite3, WAL mode, `synchronous = FULL`, so every committed write
 * is on disk when the call returns.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HOME_DB_FILE, type HomeDatabase, migrateHomeDatabase } from './database.ts';

/** Opens (creating if needed) the home database in directory `home` and migrates it. */
export function openBetterSqlite3Home(home: string): HomeDatabase {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, HOME_DB_FILE);
  const fresh = !existsSync(file);
  const db = new Database(file);
  if (fresh) chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  migrateHomeDatabase(db);
  return db;
}
