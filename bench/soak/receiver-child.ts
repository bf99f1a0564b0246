/**
 * A receiving client as its own process (client-kill.ts SIGKILLs it while messages arrive):
 * `receiver-child.ts HOME` opens the home, connects, and prints one JSON line per event it shows
 * (`{"m":TEXT}` for a message, `{"u":FROM}` for an undecryptable one) and `ready` once connected.
 */
import { openClient } from '@parley/client';

const [home] = process.argv.slice(2);
const client = await openClient({ home: home as string, maxBackoffMs: 300, receipts: false });
const events = client.events();
await client.connect();
process.stdout.write('ready\n');
for await (const e of events) {
  if (e.type === 'message' && e.message.direction === 'in')
    process.stdout.write(`${JSON.stringify({ m: e.message.text })}\n`);
  else if (e.type === 'undecryptable') process.stdout.write(`${JSON.stringify({ u: e.from })}\n`);
}
