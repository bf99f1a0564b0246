/**
 * `parley register NAME`: creates the account and this home's first device.
 */
import { registerAccount } from '@parley/client';
import { ACCOUNT_NAME_PATTERN, NAME_SKELETON_RULE } from '@parley/protocol';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';
import { homeDir } from '../home.ts';

/** Registers and prints where the keys live. */
export async function register(name: string, flags: Flags): Promise<number> {
  if (!ACCOUNT_NAME_PATTERN.test(name)) {
    throw new CliError('account names are 3-32 characters of a-z, 0-9, _, . and -', EXIT.usage);
  }
  const server = flags.server ?? 'http://127.0.0.1:8787';
  const home = homeDir(flags.home);
  try {
    const client = await registerAccount({ home, name, server, ...(flags.invite ? { invite: flags.invite } : {}) });
    await client.close();
  } catch (err) {
    const e = err as { relayCode?: string };
    if (e.relayCode === 'NAME_TAKEN') throw new CliError(`the name ${name} is taken on ${server}`, EXIT.failure);
    if (e.relayCode === 'NAME_CONFUSABLE') {
      throw new CliError(
        `the name ${name} is refused on ${server}: it looks like an existing account's name (${NAME_SKELETON_RULE}); choose another`,
        EXIT.failure,
      );
    }
    if (e.relayCode === 'INVITE_REQUIRED') throw new CliError(`${server} needs an invite: --invite CODE`, EXIT.failure);
    throw err;
  }
  process.stdout.write(`registered ${name} on ${server}; keys are in ${home}\n`);
  return EXIT.ok;
}
