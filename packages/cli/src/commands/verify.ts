/**
 * `parley verify NAME [--accept]`: shows the safety number for you and NAME (digits and a
 * terminal QR code of the comparison payload); `--accept` marks NAME verified and accepts a
 * changed key, releasing held messages.
 */
import { toBase64Url } from '@parley/protocol';
import QRCode from 'qrcode';
import { EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connectedClient } from '../home.ts';

/** Shows, and with --accept records, the verification. */
export async function verify(name: string, flags: Flags, deadline: Deadline): Promise<number> {
  const client = await connectedClient(flags, deadline);
  try {
    const s = await client.safety(name);
    const rows = [s.safetyNumber.groups.slice(0, 4), s.safetyNumber.groups.slice(4, 8), s.safetyNumber.groups.slice(8)];
    process.stdout.write(`Safety number for you (${client.name}) and ${name}:\n\n`);
    for (const r of rows) process.stdout.write(`    ${r.join(' ')}\n`);
    process.stdout.write('\n');
    process.stdout.write(
      await QRCode.toString(toBase64Url(s.safetyNumber.qrPayload), { type: 'terminal', small: true }),
    );
    if (s.changed) process.stdout.write(`\n${name}'s account key CHANGED. This number is for the new key.\n`);
    if (flags.accept) {
      await client.acceptIdentity(name);
      client.markVerified(name);
      process.stdout.write(`\n${name} is now marked verified.\n`);
    } else {
      process.stdout.write(
        s.verified && !s.changed
          ? `\n${name} is verified.\n`
          : `\nCompare these digits with ${name} (in person or on a call), then run: parley verify ${name} --accept\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
