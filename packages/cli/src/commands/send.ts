/**
 * `parley send NAME TEXT`: sends one message and waits until the server has stored it. When
 * the server cannot be reached the message stays in the home's outbox and goes out the next
 * time any `parley` command connects.
 */
import { isClientError } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';
import { connectedClient, openHome } from '../home.ts';
import { resolveGroup } from './group.ts';
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

/** Sends to a group and waits until the server has stored it (for every member device). */
export async function sendToGroup(ref: string, text: string, flags: Flags): Promise<number> {
  const client = await connectedClient(flags.home);
  const stop = new AbortController();
  const events = client.events(stop.signal);
  try {
    await client.drained();
    const g = resolveGroup(client, ref);
    const { id } = await client.sendToGroup(g.id, text);
    for await (const e of events) {
      if (e.type === 'sent' && e.id === id) break;
      if (e.type === 'send-failed' && e.id === id) throw new CliError(`not sent: ${e.reason}`, EXIT.failure);
    }
    process.stdout.write(`sent to “${g.name}”\n`);
    return EXIT.ok;
  } finally {
    stop.abort();
    await client.close();
  }
}
