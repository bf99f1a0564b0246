/**
 * `parley link` (on the new device), `parley link accept` (on a device holding the account key;
 * the code is typed at its prompt, not put on the command line), `parley devices` and
 * `parley devices remove ID`. Device and account names are shown escaped (terminal-text.ts).
 */
import { hostname } from 'node:os';
import { startLink } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import { type Deadline, startDeadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connectedClient, homeDir } from '../home.ts';
import { qrText } from '../qr.ts';
import { safeText } from '../terminal-text.ts';
import { DEFAULT_SERVER_URL } from './serve-help.ts';

/**
 * New device: prints the code and QR, waits until an existing device accepts it. --timeout
 * bounds connecting to the server (until the link channel is open) and the final connection;
 * the wait in between is the code's own lifetime.
 */
export async function link(flags: Flags, timeoutSeconds: number): Promise<number> {
  const server = flags.server ?? DEFAULT_SERVER_URL;
  const connecting = startDeadline(timeoutSeconds);
  let pending: Awaited<ReturnType<typeof startLink>>;
  try {
    pending = await startLink({
      home: homeDir(flags.home),
      server,
      deviceName: flags.name ?? hostname(),
      signal: connecting.signal,
      ...(flags.insecure === true ? { allowInsecure: true } : {}),
    });
  } finally {
    connecting.clear();
  }
  // The code goes to the prompt of `link accept`, not its command line (process list, history).
  process.stdout.write('On a device already signed in to your account, run:\n\n');
  process.stdout.write('    parley link accept\n\n');
  process.stdout.write('and type this code when asked:\n\n');
  process.stdout.write(`    ${safeText(pending.code)}\n\n`);
  process.stdout.write(await qrText(pending.code));
  process.stdout.write('\nThe code works once, for 10 minutes. Waiting…\n');
  const { name, device } = await pending.done;
  // Connect once to publish this device's prekeys, so others can start sessions with it. The
  // wait above is the code's own lifetime; --timeout bounds this connection.
  const deadline = startDeadline(timeoutSeconds);
  try {
    const client = await connectedClient(flags, deadline);
    await client.close();
  } finally {
    deadline.clear();
  }
  process.stdout.write(`linked: this is device ${device} of ${safeText(name)}\n`);
  return EXIT.ok;
}

/** Existing device: links the new device showing `code`. */
export async function linkAccept(code: string, flags: Flags, deadline: Deadline): Promise<number> {
  const client = await connectedClient(flags, deadline);
  try {
    const { device, name } = await client.acceptLink(code, {
      transferAccountKey: flags['transfer-account-key'] ?? false,
    });
    process.stdout.write(`linked device ${device} (${safeText(name)}) to ${safeText(client.name)}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

/** Lists the account's devices. */
export async function listDevices(flags: Flags, deadline: Deadline): Promise<number> {
  const client = await connectedClient(flags, deadline);
  try {
    for (const d of client.devices()) {
      const seen = d.lastSeen === undefined ? '' : `  last message ${new Date(d.lastSeen).toISOString()}`;
      process.stdout.write(
        `${d.id}  ${d.name === undefined ? '(unnamed)' : safeText(d.name)}${d.current ? '  (this device)' : ''}${seen}\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

/** Removes device `id`. */
export async function removeDevice(id: string, flags: Flags, deadline: Deadline): Promise<number> {
  const n = Number(id);
  if (!Number.isInteger(n) || n < 1)
    throw new CliError('usage: parley devices remove ID (a device number)', EXIT.usage);
  const client = await connectedClient(flags, deadline);
  try {
    await client.removeDevice(n);
    process.stdout.write(`removed device ${n}; it can no longer send or receive as ${safeText(client.name)}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
