/**
 * Operator commands that work on the server's database directly (the operator's own machine;
 * no network API): `admin invite` (a one-time invite code; only its SHA-256 is stored),
 * `admin export ACCOUNT` (everything held about an account, as JSON), `admin migrate` and
 * `admin check` (the SQLite start-up checks).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { toBase64Url } from '@parley/protocol';
import {
  DEFAULT_OPTIONS,
  exportAccount,
  inviteHash,
  openFsBlobStore,
  openPostgresStorage,
  openSqliteStorage,
  SQLITE_FILE,
  type Storage,
} from '@parley/server';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';

/** Opens the store `parley serve` would use with the same flags (migrating it). */
async function openStore(flags: Flags): Promise<Storage> {
  const db = flags.db ?? process.env.PARLEY_DB;
  return db === undefined
    ? await openSqliteStorage(resolve(flags.data ?? DEFAULT_OPTIONS.dataDir), 'full')
    : openPostgresStorage(db);
}

/** Prints a new invite code. */
export async function adminInvite(flags: Flags): Promise<number> {
  const storage = await openStore(flags);
  try {
    const code = toBase64Url(new Uint8Array(randomBytes(16)));
    await storage.createInvite(inviteHash(code), Date.now());
    process.stdout.write(`${code}\n`);
  } finally {
    await storage.close();
  }
  return EXIT.ok;
}

/** Prints everything the server holds about `account`. */
export async function adminExport(account: string, flags: Flags): Promise<number> {
  const storage = await openStore(flags);
  try {
    const blobs = await openFsBlobStore(join(resolve(flags.data ?? DEFAULT_OPTIONS.dataDir), 'blobs'));
    const doc = await exportAccount(storage, account, blobs);
    if (doc === undefined) throw new CliError(`no account named ${account} on this server`, EXIT.unknownAccount);
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return EXIT.ok;
  } finally {
    await storage.close();
  }
}

/**
 * Runs the SQLite start-up checks (`sqlite-integrity.ts` in the server) and says what they found:
 * exit 0 when the server would start on the database, else the refusal (what happened, what to
 * do) and exit 1. With `--accept-loss`, a database whose -wal file was lost after a crash is
 * accepted as it is, and marked so that the server starts on it.
 */
export async function adminCheck(flags: Flags): Promise<number> {
  if ((flags.db ?? process.env.PARLEY_DB) !== undefined)
    throw new CliError('admin check checks a SQLite data directory (--data); PostgreSQL has its own tools', EXIT.usage);
  const dataDir = resolve(flags.data ?? DEFAULT_OPTIONS.dataDir);
  // A mistyped --data is not a new database to create.
  if (!existsSync(join(dataDir, SQLITE_FILE)) && !existsSync(join(dataDir, `${SQLITE_FILE}.state`)))
    throw new CliError(
      `no Parley database in ${dataDir} (no ${SQLITE_FILE} and no ${SQLITE_FILE}.state)`,
      EXIT.failure,
    );
  let storage: Storage;
  try {
    storage = await openSqliteStorage(dataDir, 'full', { acceptLoss: flags['accept-loss'] === true });
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new CliError(`${code === undefined ? '' : `${code}: `}${(err as Error).message}`, EXIT.failure);
  }
  await storage.close();
  process.stdout.write(
    `${join(dataDir, SQLITE_FILE)}: quick_check ok, schema up to date, state file present; the server will start on it\n`,
  );
  return EXIT.ok;
}

/** Applies pending schema migrations (the server also does so at start-up). */
export async function adminMigrate(flags: Flags): Promise<number> {
  const storage = await openStore(flags);
  await storage.close();
  process.stdout.write('schema is up to date\n');
  return EXIT.ok;
}
