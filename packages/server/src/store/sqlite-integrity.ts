/**
 * The checks a SQLite database passes before the server serves from it (issue 24). Without them
 * a truncated file started and acknowledged sends it could not deliver, a database deleted by
 * mistake was replaced by an empty one, and a `-wal` file deleted after a crash silently took the
 * acknowledged messages it held with it.
 *
 * - **A state file beside the database** (`parley.sqlite.state`, JSON), written when the database
 *   is created, marked `open` while a server runs and `closed` once it has stopped cleanly. A
 *   state file without its database means the database was lost: a fresh data directory has
 *   neither. A state still `open` at start means the last server did not stop cleanly; its `-wal`
 *   file then holds committed transactions, so a missing `-wal` means they were lost.
 * - **`PRAGMA quick_check`** (pages, records and indexes well formed; O(database size)).
 * - **Schema and migration state**: no migration newer than this build knows, and every table a
 *   fresh database of this build has.
 *
 * What is not detectable: a `-wal` deleted after a clean stop (nothing is lost then: a clean stop
 * writes it into the database), a `-wal` or database replaced by an older copy of itself, and rows
 * lost inside a file that is still well formed.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { migrateSqlite } from './sqlite-migrate.ts';

/** Why a database is refused: each with its own message saying what to do. */
export type DatabaseCheckCode = 'DATABASE_LOST' | 'DATABASE_DAMAGED' | 'WAL_LOST' | 'SCHEMA_NEWER';

/** A database that fails a start-up check; the server does not start on it. */
export class DatabaseCheckError extends Error {
  readonly code: DatabaseCheckCode;
  constructor(code: DatabaseCheckCode, message: string) {
    super(message);
    this.name = 'DatabaseCheckError';
    this.code = code;
  }
}

/** The state file's contents. */
interface StateFile {
  readonly version: 1;
  readonly created: string;
  readonly state: 'open' | 'closed';
}

/** Path of the state file of database `file`. */
export const stateFileOf = (file: string): string => `${file}.state`;

function readState(file: string): StateFile | undefined {
  try {
    const v = JSON.parse(readFileSync(stateFileOf(file), 'utf8')) as Partial<StateFile>;
    return v.version === 1 && typeof v.created === 'string' && (v.state === 'open' || v.state === 'closed')
      ? (v as StateFile)
      : { version: 1, created: 'unknown', state: 'open' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Unreadable or not JSON: still proof that a database was created here.
    return { version: 1, created: 'unknown', state: 'open' };
  }
}

/** Writes the state file atomically (rename over the old one). */
export function writeState(file: string, state: StateFile['state'], created?: string): void {
  const next: StateFile = {
    version: 1,
    created: created ?? readState(file)?.created ?? new Date().toISOString(),
    state,
  };
  const tmp = `${stateFileOf(file)}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(next)}\n`, { mode: 0o600 });
  renameSync(tmp, stateFileOf(file));
}

const size = (path: string): number | undefined => {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
};

/**
 * The checks that come before the database is opened (opening would create an empty one).
 * `acceptLoss`: the operator has read a `WAL_LOST` refusal and starts on what the file holds.
 */
export function checkFilesBeforeOpen(file: string, acceptLoss = false): void {
  const state = readState(file);
  const dbSize = size(file);
  if (state !== undefined && (dbSize === undefined || dbSize === 0)) {
    throw new DatabaseCheckError(
      'DATABASE_LOST',
      `the database ${file} is ${dbSize === undefined ? 'missing' : 'empty'}, but ${stateFileOf(file)} says one was created ` +
        `there (${state.created}): restore it from a backup (with its -wal file), or, to start over with an empty ` +
        `database and lose every account and queued message, delete ${stateFileOf(file)}`,
    );
  }
  if (state?.state === 'open' && dbSize !== undefined && !existsSync(`${file}-wal`) && !acceptLoss) {
    throw new DatabaseCheckError(
      'WAL_LOST',
      `the server using ${file} did not stop cleanly and its -wal file is missing: the -wal file is part of the ` +
        `database and held its latest acknowledged messages. Put it back if you have it (same directory, ` +
        `${file}-wal), or accept the loss with \`parley admin check --data DIR --accept-loss\``,
    );
  }
}

/** SQLite codes that mean the file is not a well-formed database. */
const DAMAGED = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CORRUPT_INDEX', 'SQLITE_CORRUPT_SEQUENCE']);

/** The damaged-database refusal for `file`, with `what` SQLite found. */
function damaged(file: string, what: string): DatabaseCheckError {
  return new DatabaseCheckError(
    'DATABASE_DAMAGED',
    `the database ${file} is damaged (${what}): the server will not start on it. Stop, copy the data directory ` +
      'aside, and restore the database and its -wal file from a backup; docs/operating.md ("A damaged database") ' +
      'says how to recover what is readable',
  );
}

/**
 * Runs `open`, turning a malformed file into a `DATABASE_DAMAGED` refusal; checks its pages and
 * migration state, runs `migrate`, then checks that it has every table; marks the state `open`.
 */
export function openChecked(
  file: string,
  open: () => Database.Database,
  migrate: (db: Database.Database) => void,
): Database.Database {
  const fresh = readState(file) === undefined && !(size(file) ?? 0);
  let db: Database.Database;
  try {
    db = open();
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (DAMAGED.has(code)) throw damaged(file, (err as Error).message);
    throw err;
  }
  try {
    checkOpen(db, file, migrate);
  } catch (err) {
    db.close();
    throw err;
  }
  writeState(file, 'open', fresh ? new Date().toISOString() : undefined);
  return db;
}

function checkOpen(db: Database.Database, file: string, migrate: (db: Database.Database) => void): void {
  let problems: string[];
  try {
    problems = (db.pragma('quick_check(5)') as { quick_check: string }[]).map((r) => r.quick_check);
  } catch (err) {
    throw damaged(file, (err as Error).message);
  }
  if (problems.length !== 1 || problems[0] !== 'ok') throw damaged(file, problems.join('; '));
  // The migrations and tables of a fresh database of this build.
  const reference = new (db.constructor as typeof Database)(':memory:');
  let known: number;
  let tables: string[];
  try {
    migrateSqlite(reference);
    known = (reference.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v;
    tables = tableNames(reference);
  } finally {
    reference.close();
  }
  const recorded = have(db, 'schema_migrations')
    ? (db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }).v
    : null;
  if (recorded !== null && recorded > known) {
    throw new DatabaseCheckError(
      'SCHEMA_NEWER',
      `the database ${file} was migrated to version ${recorded} by a newer Parley (this one knows ${known}): run that version`,
    );
  }
  try {
    migrate(db);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (DAMAGED.has(code)) throw damaged(file, (err as Error).message);
    throw err;
  }
  const present = new Set(tableNames(db));
  const missing = tables.filter((t) => !present.has(t));
  if (missing.length > 0) throw damaged(file, `tables missing: ${missing.join(', ')}`);
}

const have = (db: Database.Database, table: string): boolean => tableNames(db).includes(table);

function tableNames(db: Database.Database): string[] {
  return (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as {
      name: string;
    }[]
  ).map((r) => r.name);
}
