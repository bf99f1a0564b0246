/**
 * `parley admin invite`: creates a one-time invite code directly in the server's database
 * (the operator's own machine; no network API). Only the code's SHA-256 is stored.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { toBase64Url } from '@parley/protocol';
import { inviteHash, openSqliteStorage } from '@parley/server';
import { EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';

/** Prints a new invite code. */
export async function adminInvite(flags: Flags): Promise<number> {
  const storage = openSqliteStorage(resolve(flags.data ?? './parley-data'), 'full');
  try {
    const code = toBase64Url(new Uint8Array(randomBytes(16)));
    await storage.createInvite(inviteHash(code), Date.now());
    process.stdout.write(`${code}\n`);
  } finally {
    await storage.close();
  }
  return EXIT.ok;
}
