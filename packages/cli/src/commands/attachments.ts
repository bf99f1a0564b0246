/**
 * Attachments on the command line (issue 21): `parley send NAME --file PATH [--file PATH…]
 * [--caption TEXT]` uploads and sends each file; `receive` and `chat` save each attachment that
 * arrives under `<home>/downloads/` (or `--downloads DIR`) and print where. Saved names are the
 * sender's file name sanitised again here (one segment, no control characters, no leading dot),
 * never a path the sender chose; a name already taken gets " (1)", " (2)"…. A progress line
 * (bytes, rate, time left) is drawn on stderr only when stdout and stderr are terminals.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { type ClientEvent, isClientError, type ParleyClient } from '@parley/client';
import { sanitizeFileName } from '@parley/protocol';
import { formatByteSize } from '../byte-size.ts';
import { CliError, EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connect, homeDir, openHome } from '../home.ts';
import { safeText } from '../terminal-text.ts';
import { resolveGroup } from './group.ts';

/** Where received attachments are saved (created if missing). */
export function downloadsDir(flags: Flags): string {
  const dir = resolve(flags.downloads ?? join(homeDir(flags.home), 'downloads'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** A free path in `dir` for the sender's `name`: sanitised, with " (n)" before the extension on a clash. */
export function freePath(dir: string, name: string): string {
  const safe = sanitizeFileName(name);
  const ext = extname(safe);
  const stem = ext.length > 0 && ext.length < safe.length ? safe.slice(0, -ext.length) : safe;
  const suffix = stem === safe ? '' : ext;
  for (let n = 0; ; n++) {
    const candidate = join(dir, n === 0 ? safe : `${stem} (${n})${suffix}`);
    if (!existsSync(candidate)) return candidate;
  }
}

/** A progress callback drawing one line on a terminal, or nothing when output is not a terminal. */
export function progressLine(label: string): ((done: number, total: number) => void) & { end(): void } {
  const tty = process.stdout.isTTY === true && process.stderr.isTTY === true;
  const start = Date.now();
  let last = 0;
  const draw = (done: number, total: number): void => {
    if (!tty) return;
    const now = Date.now();
    if (now - last < 100 && done < total) return;
    last = now;
    const seconds = Math.max(0.001, (now - start) / 1000);
    const rate = done / seconds;
    const eta = rate > 0 ? Math.ceil((total - done) / rate) : 0;
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    process.stderr.write(
      `\r\x1b[K${label} ${pct}% ${formatByteSize(done)}/${formatByteSize(total)} ${formatByteSize(Math.round(rate))}/s ETA ${eta}s`,
    );
  };
  return Object.assign(draw, {
    end() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  });
}

/**
 * Saves an `attachment` event's file under `dir` and returns the line to print: the saved path,
 * or why it was not saved (the message line itself was printed already).
 */
export async function saveAttachment(e: Extract<ClientEvent, { type: 'attachment' }>, dir: string): Promise<string> {
  const path = freePath(dir, e.attachment.fileName);
  const progress = progressLine(`receiving ${safeText(e.attachment.fileName)}`);
  try {
    await e.attachment.download(path, { onProgress: progress });
    return `saved ${safeText(path)}`;
  } catch (err) {
    if (isClientError(err, 'ATTACHMENT_CORRUPT') || isClientError(err, 'ATTACHMENT_GONE')) {
      return `error: ${safeText(e.attachment.fileName)} from ${safeText(e.message.sender)} was not saved: ${safeText(err.message)}`;
    }
    throw err;
  } finally {
    progress.end();
  }
}

/** `parley send NAME --file PATH…` (or `--group GROUP`): uploads and sends each file in turn. */
export async function sendFiles(
  to: { name: string } | { group: string },
  files: readonly string[],
  flags: Flags,
  deadline: Deadline,
): Promise<number> {
  const client: ParleyClient = await connect(await openHome(flags, deadline), deadline);
  try {
    let name: string;
    let send: typeof client.sendFile;
    if ('group' in to) {
      await client.drained(deadline.signal);
      const g = resolveGroup(client, to.group);
      name = `“${safeText(g.name)}”`;
      send = (_to, source, options) => client.sendFileToGroup(g.id, source, options);
    } else {
      name = to.name;
      send = (_to, source, options) => client.sendFile(to.name, source, options);
    }
    // Connecting had --timeout; an upload runs as long as it makes progress.
    deadline.clear();
    for (const file of files) {
      const progress = progressLine(`sending ${safeText(file)}`);
      try {
        await send(name, file, {
          ...(flags.caption === undefined ? {} : { caption: flags.caption }),
          onProgress: progress,
          onResume: (from, total) =>
            process.stdout.write(
              `resuming ${safeText(file)}: ${formatByteSize(from)} of ${formatByteSize(total)} already on the server\n`,
            ),
        });
      } catch (err) {
        if (
          isClientError(err, 'SERVER_REFUSED') &&
          (err.relayCode === 'ATTACHMENT_TOO_LARGE' || err.relayCode === 'QUOTA_EXCEEDED')
        ) {
          throw new CliError(`${safeText(file)} was not sent: ${safeText(err.message)}`, EXIT.failure);
        }
        if (isClientError(err, 'UPLOAD_FAILED') || isClientError(err, 'INVALID_ARGUMENT')) {
          throw new CliError(`${safeText(file)} was not sent: ${safeText(err.message)}`, EXIT.failure);
        }
        throw err;
      } finally {
        progress.end();
      }
      process.stdout.write(`sent ${safeText(file)} to ${name}\n`);
    }
    // A group's message leaves through the group outbox: wait until it is out.
    await client.idle();
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
