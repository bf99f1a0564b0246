/**
 * `parley account delete [--yes]`: deletes this home's account on its server for good (every
 * device, key, queue and attachment there), after the person types the account name (or
 * `--yes`, for scripts), then removes the home's database (keys and history) from this machine.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { HOME_DB_FILE, openClient } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connectedClient, homeDir } from '../home.ts';
import { readConfirmation } from '../secret-input.ts';
import { safeText } from '../terminal-text.ts';

/** Deletes the account, once confirmed. */
export async function deleteAccount(flags: Flags, deadline: () => Deadline): Promise<number> {
  const home = homeDir(flags.home);
  // Who this home is, read before asking: --timeout starts once the person has answered.
  const local = await openClient({ home });
  const { name, server } = local;
  await local.close();
  if (flags.yes !== true) {
    process.stderr.write(
      `This deletes the account ${safeText(name)} on ${safeText(server)} for good: every device, key and waiting message there, and this home's keys and history. Contacts will see the account is gone.\n`,
    );
    const typed = await readConfirmation(`Type ${safeText(name)} to delete it: `);
    if (typed !== name)
      throw new CliError('not deleted: the name typed does not match (nothing was changed)', EXIT.usage);
  }
  const client = await connectedClient(flags, deadline());
  try {
    await client.deleteAccount();
  } finally {
    await client.close();
  }
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(join(home, HOME_DB_FILE + suffix), { force: true });
  process.stdout.write(
    `deleted the account ${safeText(name)} on ${safeText(server)}; this home's keys and history are removed\n`,
  );
  return EXIT.ok;
}
