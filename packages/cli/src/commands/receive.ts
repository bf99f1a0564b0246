/**
 * `parley receive`: prints everything queued for this device, then listens `--wait` seconds.
 */
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';
import { connect, openHome } from '../home.ts';
import { formatMessage, formatWarning } from './print.ts';

/** Receives and prints. */
export async function receive(flags: Flags): Promise<number> {
  const wait = flags.wait === undefined ? 0 : Number(flags.wait);
  if (!(wait >= 0)) throw new CliError('--wait takes a number of seconds', EXIT.usage);
  const json = flags.json ?? false;
  const client = await openHome(flags.home);
  // Subscribed before connecting, so nothing delivered right after the handshake is missed.
  const stop = new AbortController();
  const events = client.events(stop.signal);
  await connect(client);
  const printing = (async () => {
    for await (const e of events) {
      if (e.type === 'message') process.stdout.write(`${formatMessage(e.message, json, client)}\n`);
      else {
        const w = formatWarning(e);
        if (w !== undefined) process.stderr.write(`${w}\n`);
      }
    }
  })();
  await client.drained();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000));
  stop.abort();
  await printing;
  await client.close();
  return EXIT.ok;
}
