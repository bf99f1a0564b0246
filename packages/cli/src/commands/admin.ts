/**
 * Operator commands that work on the server's database directly (the operator's own machine;
 * no network API): `admin invite` (a one-time invite code; only its SHA-256 is stored),
 * `admin export ACCOUNT` (everything held about an account, as JSON) and `admin migrate`.
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { toBase64Url } from '@parley/protocol';
import {
  DEFAULT_OPTIONS,
  exportAccount,
  inviteHash,
  openFsBlobStore,
  openPostgresStorage,
  openSqliteStorage,
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

/** Applies pending schema migrations (the server also does so at start-up). */
export async function adminMigrate(flags: Flags): Promise<number> {
  const storage = await openStore(flags);
  await storage.close();
  process.stdout.write('schema is up to date\n');
  return EXIT.ok;
}
