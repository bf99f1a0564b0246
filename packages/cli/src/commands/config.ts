/**
 * `parley config key-change-policy [hold-all|block-verified]`: shows or sets what a contact's
 * account-key change does in this home (saved in the home, read by every later command).
 */
import { type KeyChangePolicy, openClient } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';
import { homeDir } from '../home.ts';

const POLICIES: readonly KeyChangePolicy[] = ['hold-all', 'block-verified'];

/** Prints the policy, or saves `value` as the new one. */
export async function config(value: string | undefined, flags: Flags): Promise<number> {
  if (value !== undefined && !POLICIES.includes(value as KeyChangePolicy)) {
    throw new CliError(`the key-change policy is one of: ${POLICIES.join(', ')}`, EXIT.usage);
  }
  const client = await openClient({ home: homeDir(flags.home) });
  try {
    if (value !== undefined) client.setKeyChangePolicy(value as KeyChangePolicy);
    process.stdout.write(`key-change-policy: ${client.keyChangePolicy()}${value === undefined ? '' : ' (saved)'}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
