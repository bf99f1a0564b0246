/**
 * `parley verify NAME [--accept DIGITS]`: shows the safety number for you and NAME (digits and
 * a terminal QR code of the comparison payload), and whether NAME's key changed since this home
 * last showed a number for them. `--accept DIGITS` takes the number that was compared (60
 * digits, spaces optional, or the base64url QR payload): if it is the current one, NAME is
 * marked verified, a changed key is taken and held messages are sent; otherwise nothing is.
 */
import { toBase64Url } from '@parley/protocol';
import { EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connectedClient } from '../home.ts';
import { qrText } from '../qr.ts';
import { safeText } from '../terminal-text.ts';

/** Shows, and with --accept DIGITS records, the verification. */
export async function verify(name: string, flags: Flags, deadline: Deadline): Promise<number> {
  const client = await connectedClient(flags, deadline);
  try {
    if (flags.accept !== undefined) {
      // Checked against the current key only: a number shown before a change is refused.
      const { released } = await client.markVerified(name, flags.accept);
      await client.idle();
      process.stdout.write(`${name} is now marked verified.\n`);
      if (released.length > 0)
        process.stdout.write(`${released.length} held messages to ${name} released for sending.\n`);
      return EXIT.ok;
    }
    const s = await client.safety(name, { show: true });
    const rows = [s.safetyNumber.groups.slice(0, 4), s.safetyNumber.groups.slice(4, 8), s.safetyNumber.groups.slice(8)];
    process.stdout.write(`Safety number for you (${client.name}) and ${name}:\n\n`);
    for (const r of rows) process.stdout.write(`    ${r.join(' ')}\n`);
    process.stdout.write('\n');
    process.stdout.write(await qrText(toBase64Url(s.safetyNumber.qrPayload)));
    if (s.changedSinceShown) {
      process.stdout.write(
        `\n${name}'s account key CHANGED since you last compared: this is a new number; the one you compared before is no longer valid.\n`,
      );
    } else if (s.changed) process.stdout.write(`\n${name}'s account key CHANGED. This number is for the new key.\n`);
    if (s.staleDeviceList !== undefined) {
      process.stdout.write(
        `\nwarning: ${name}'s messages announce device list version ${s.staleDeviceList.announced}, but the server serves version ${s.staleDeviceList.trusted} (it may be hiding a removed device). Nothing is sent to ${name} until the newer list arrives.\n`,
      );
    }
    process.stdout.write(
      s.directory === undefined
        ? `\nKey directory: not checked (the server has no key directory, or it could not be reached).\n`
        : `\nKey directory: ${name}'s key is in the server's directory at epoch ${s.directory.epoch} (entry version ${s.directory.version}).\n`,
    );
    process.stdout.write(
      s.verified && !s.changed && !s.changedSinceShown
        ? `\n${name} is verified.\n`
        : `\nCompare these digits with ${name} (in person or on a call), then run: parley verify ${name} --accept "DIGITS"\n`,
    );
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

/** `parley directory status`: the key directory as this device checks it (docs/protocol.md §20). */
export async function directoryStatus(flags: Flags, deadline: Deadline): Promise<number> {
  const client = await connectedClient(flags, deadline);
  try {
    const check = await client.checkDirectory().catch(() => undefined);
    const s = client.directoryStatus();
    if (!s.active) {
      process.stdout.write('This server announced no key directory: keys are not checked against one.\n');
      return EXIT.ok;
    }
    const when = (ms: number): string => new Date(ms).toISOString();
    process.stdout.write(
      `Directory key: ${s.pinned?.directoryKey ?? '?'}${s.pinned?.tofu === true ? ' (pinned on first connect, trust on first use)' : ''}\n`,
    );
    process.stdout.write(
      s.head === undefined
        ? 'Newest head held: none yet\n'
        : `Newest head held: epoch ${s.head.epoch} of ${when(s.head.timeMs)} (hash ${s.head.hash}), ${s.head.cosignatures} witness cosignatures, ${s.requireWitnesses} required\n`,
    );
    const last = check ?? s.lastSelfCheck;
    process.stdout.write(
      last === undefined
        ? 'Own entry: not checked yet (a new account or device list reaches the directory within an epoch)\n'
        : `Own entry: ${last.ok ? 'OK' : 'NOT YOURS'} at epoch ${last.epoch}, checked ${when(last.checkedAt)}\n`,
    );
    if (s.evidence.length === 0) process.stdout.write('Evidence: none\n');
    for (const e of s.evidence) {
      process.stdout.write(
        `EVIDENCE ${e.kind} ${when(e.at)}${e.name === undefined ? '' : ` (${safeText(e.name)})`}: ${safeText(e.detail)}\n`,
      );
      for (const h of e.heads) process.stdout.write(`    signed head: ${toBase64Url(h)}\n`);
    }
    return s.evidence.length === 0 && last?.ok !== false ? EXIT.ok : EXIT.failure;
  } finally {
    await client.close();
  }
}
