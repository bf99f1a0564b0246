/**
 * `parley receive`: prints everything queued for this device, then listens `--wait` seconds.
 * --timeout bounds connecting and taking the backlog: a connection lost on the way is waited
 * out until then (the server delivers again what was not acknowledged, and nothing is printed
 * twice); if the backlog is not in by then the command fails and says so.
 */
import { isClientError } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connect, openHome } from '../home.ts';
import { terminalColumns } from '../terminal-text.ts';
import { downloadsDir, saveAttachment } from './attachments.ts';
import { formatMessage, formatWarning } from './print.ts';

/** Receives and prints. */
export async function receive(flags: Flags, deadline: Deadline): Promise<number> {
  const wait = flags.wait === undefined ? 0 : Number(flags.wait);
  if (!(wait >= 0)) throw new CliError('--wait takes a number of seconds', EXIT.usage);
  const json = flags.json ?? false;
  const client = await openHome(flags, deadline);
  // Subscribed before connecting, so nothing delivered right after the handshake is missed.
  const stop = new AbortController();
  const events = client.events(stop.signal);
  const downloads = downloadsDir(flags);
  // The conversations printed into: marked read at the end (which sends read receipts when on).
  const printed = new Set<string>();
  const printing = (async () => {
    for await (const e of events) {
      if (e.type === 'message') {
        printed.add(e.message.peer);
        process.stdout.write(`${formatMessage(e.message, json, client, terminalColumns(process.stdout))}\n`);
      } else if (e.type === 'attachment') {
        process.stdout.write(`${await saveAttachment(e, downloads)}\n`);
      } else {
        const w = formatWarning(e, client.keyChangePolicy());
        if (w !== undefined) process.stderr.write(`${w}\n`);
      }
    }
  })();
  try {
    await connect(client, deadline);
    await client.drained(deadline.signal);
  } catch (err) {
    stop.abort();
    await printing;
    await client.close();
    if (isClientError(err, 'TIMEOUT') && deadline.signal.aborted) {
      throw new CliError(
        `the server did not finish delivering within ${deadline.seconds} s (connection lost or too slow); the messages printed are kept here, the rest stay on the server for the next receive`,
        EXIT.unreachable,
      );
    }
    throw err;
  }
  // The backlog is in: --wait listens on, past the deadline.
  deadline.clear();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000));
  stop.abort();
  await printing;
  // On a terminal, an empty result is said; to a pipe or file nothing extra is printed.
  if (printed.size === 0 && process.stdout.isTTY && !json) process.stdout.write('no new messages\n');
  for (const peer of printed) client.markRead(peer);
  // The read receipts go out now if the connection is up; otherwise they wait in this home's outbox.
  if (printed.size > 0 && client.isConnected()) await client.idle();
  await client.close();
  return EXIT.ok;
}
