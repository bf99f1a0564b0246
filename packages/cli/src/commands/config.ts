/**
 * `parley config key-change-policy [hold-all|block-verified]`: shows or sets what a contact's
 * account-key change does in this home. `parley config read-receipts [on|off]`: shows or sets
 * whether this home sends delivery and read receipts (default on). Both are saved in the home
 * and read by every later command (and by the SDK and browser client opening it).
 */
import { type KeyChangePolicy, openClient } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';
import { homeDir } from '../home.ts';

const POLICIES: readonly KeyChangePolicy[] = ['hold-all', 'block-verified'];
const ON_OFF: readonly string[] = ['on', 'off'];

/** Prints the setting, or saves `value` as its new value. */
export async function config(
  setting: 'key-change-policy' | 'read-receipts',
  value: string | undefined,
  flags: Flags,
): Promise<number> {
  if (setting === 'key-change-policy' && value !== undefined && !POLICIES.includes(value as KeyChangePolicy)) {
    throw new CliError(`the key-change policy is one of: ${POLICIES.join(', ')}`, EXIT.usage);
  }
  if (setting === 'read-receipts' && value !== undefined && !ON_OFF.includes(value)) {
    throw new CliError('read-receipts is on or off', EXIT.usage);
  }
  const client = await openClient({ home: homeDir(flags.home) });
  try {
    const saved = value === undefined ? '' : ' (saved)';
    if (setting === 'read-receipts') {
      if (value !== undefined) client.setReadReceipts(value === 'on');
      process.stdout.write(`read-receipts: ${client.readReceipts() ? 'on' : 'off'}${saved}\n`);
      return EXIT.ok;
    }
    if (value !== undefined) client.setKeyChangePolicy(value as KeyChangePolicy);
    process.stdout.write(`key-change-policy: ${client.keyChangePolicy()}${saved}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
