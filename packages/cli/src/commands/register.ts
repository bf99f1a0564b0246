/**
 * `parley register NAME`: creates the account and this home's first device. The keys are saved
 * before the server is asked, so a registration whose answer was lost (or that ran out of
 * --timeout) is finished by running the same command again: it completes with the same keys,
 * or says the name belongs to another account.
 */
import { hostname } from 'node:os';
import { isClientError, isRelayRefusal, registerAccount } from '@parley/client';
import { ACCOUNT_NAME_PATTERN, NAME_SKELETON_RULE } from '@parley/protocol';
import { CliError, describeError, EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { homeDir } from '../home.ts';
import { DEFAULT_SERVER_URL } from './serve-help.ts';

/** Registers and prints where the keys live. */
export async function register(name: string, flags: Flags, deadline: Deadline): Promise<number> {
  if (!ACCOUNT_NAME_PATTERN.test(name)) {
    throw new CliError('account names are 3-32 characters of a-z, 0-9, _, . and -', EXIT.usage);
  }
  const server = flags.server ?? DEFAULT_SERVER_URL;
  const home = homeDir(flags.home);
  try {
    const client = await registerAccount({
      home,
      name,
      server,
      ...(flags.invite ? { invite: flags.invite } : {}),
      deviceName: flags['device-name'] ?? hostname(),
      ...(flags.insecure === true ? { allowInsecure: true } : {}),
      signal: deadline.signal,
      ...deadline.clientOptions,
    });
    await client.close();
  } catch (err) {
    if (isRelayRefusal(err, 'NAME_TAKEN'))
      throw new CliError(
        `the name ${name} is taken on ${server} by another account; choose another name (this home can be used for it)`,
        EXIT.failure,
      );
    if (isRelayRefusal(err, 'NAME_CONFUSABLE')) {
      throw new CliError(
        `the name ${name} is refused on ${server}: it looks like an existing account's name (${NAME_SKELETON_RULE}); choose another`,
        EXIT.failure,
      );
    }
    if (isRelayRefusal(err, 'INVITE_REQUIRED'))
      throw new CliError(`${server} needs an invite: --invite CODE`, EXIT.failure);
    if (isClientError(err, 'SERVER_UNREACHABLE') || isClientError(err, 'TIMEOUT')) {
      // The server may have taken the registration without our hearing of it: say how to finish.
      const { message, exitCode } = describeError(err);
      throw new CliError(
        `${message}\nThe keys are kept in ${home}: run the same command again to finish registering ${name}.`,
        exitCode,
      );
    }
    throw err;
  }
  process.stdout.write(`registered ${name} on ${server}; keys are in ${home}\n`);
  return EXIT.ok;
}
