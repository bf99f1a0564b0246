/**
 * Where a CLI command's home directory is, and opening its client within the command's deadline.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { openClient, type ParleyClient } from '@parley/client';
import type { Deadline } from './deadline.ts';
import type { Flags } from './flags.ts';

/** The flags that say which home to open and how (`--home`, `--insecure`). */
export type HomeFlags = Pick<Flags, 'home' | 'insecure'>;

/** `--home`, else `$PARLEY_HOME`, else `~/.parley`. */
export function homeDir(flag: string | undefined): string {
  return resolve(flag ?? process.env.PARLEY_HOME ?? join(homedir(), '.parley'));
}

/**
 * Opens the home's client without connecting, with request timings that fit `deadline`. `--insecure`
 * allows, for this command, an `http://` server that is not this machine and that the home does
 * not already allow (homes registered or linked with `--insecure` remember it).
 */
export function openHome(flags: HomeFlags, deadline: Deadline): Promise<ParleyClient> {
  return openClient({
    home: homeDir(flags.home),
    ...(flags.insecure === true ? { allowInsecure: true } : {}),
    ...deadline.clientOptions,
  });
}

/** Connects `client`, retrying a reset or timed-out attempt until `deadline`; closes it if that fails. */
export async function connect(client: ParleyClient, deadline: Deadline): Promise<ParleyClient> {
  try {
    await client.connect(deadline.signal);
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}

/** Opens and connects the home's client. */
export async function connectedClient(flags: HomeFlags, deadline: Deadline): Promise<ParleyClient> {
  return connect(await openHome(flags, deadline), deadline);
}
