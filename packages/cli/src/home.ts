/**
 * Where a CLI command's home directory is, and opening its client.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { openClient, type ParleyClient } from '@parley/client';

/** `--home`, else `$PARLEY_HOME`, else `~/.parley`. */
export function homeDir(flag: string | undefined): string {
  return resolve(flag ?? process.env.PARLEY_HOME ?? join(homedir(), '.parley'));
}

/** Opens the home's client without connecting. */
export function openHome(flag: string | undefined): Promise<ParleyClient> {
  return openClient({ home: homeDir(flag) });
}

/** Connects `client`; closes it if that fails. */
export async function connect(client: ParleyClient): Promise<ParleyClient> {
  try {
    await client.connect();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

/** Opens and connects the home's client. */
export async function connectedClient(flag: string | undefined): Promise<ParleyClient> {
  return connect(await openHome(flag));
}
