/**
 * `parley send NAME TEXT`: sends one message and waits until the server has stored it. When
 * the server cannot be reached the message stays in the home's outbox and goes out the next
 * time any `parley` command connects.
 */
import { isClientError } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';
import { openHome } from '../home.ts';
import { printWarnings } from './print.ts';

/** Sends and reports. */
export async function send(name: string, text: string, flags: Flags): Promise<number> {
  const client = await openHome(flags.home);
  const stop = new AbortController();
  const warnings = printWarnings(client, stop.signal, new Set(['send-failed']));
  try {
    try {
      await client.connect();
    } catch (err) {
      if (!isClientError(err, 'SERVER_UNREACHABLE')) throw err;
      await client.send(name, text);
      throw new CliError(
        `cannot reach ${client.server}; the message is queued and will be sent the next time parley connects`,
        EXIT.unreachable,
      );
    }
    await client.sendAndWait(name, text);
    process.stdout.write(`sent to ${name}\n`);
    return EXIT.ok;
  } finally {
    stop.abort();
    await warnings;
    await client.close();
  }
}
