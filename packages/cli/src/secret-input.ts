/**
 * Message text and link codes read from standard input instead of the command line. Arguments
 * are readable by every local user in /proc/PID/cmdline (and `ps`) while the command runs, and
 * the shell keeps them in its history: `parley send NAME` without TEXT (or with `-`) and
 * `parley link accept` without CODE read them here instead.
 *
 * Piped input is read to its end (a message may have several lines; one final newline, as
 * `echo` adds, is dropped). On a terminal, a prompt on stderr reads one line: Enter ends it, and
 * Ctrl-D on an empty line gives nothing (refused as empty).
 */
import { createInterface } from 'node:readline';
import { MAX_TEXT_BYTES } from '@parley/client';
import { CliError, EXIT } from './cli-error.ts';
import { safeText } from './terminal-text.ts';

/** Reads piped standard input to its end, refusing more than `limit` bytes. */
async function readPiped(limit: number, what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > limit) {
      process.stdin.destroy();
      throw new CliError(`${what} on standard input is longer than ${limit} bytes`, EXIT.usage);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Prompts on stderr and reads one line typed on the terminal ('' on Ctrl-D). */
function promptLine(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  return new Promise((resolve) => {
    let answer = '';
    rl.question(prompt, (line) => {
      answer = line;
      rl.close();
    });
    rl.once('close', () => resolve(answer));
  });
}

/** Drops one trailing newline (LF or CRLF), as `echo` and here-documents add one. */
const chompOne = (text: string): string => text.replace(/\r?\n$/, '');

/**
 * The text to send: `arg` itself, or (when `arg` is undefined or `-`) standard input. Text
 * that is empty or only whitespace is a usage error.
 */
export async function readMessageText(arg: string | undefined, to: string): Promise<string> {
  let text: string;
  if (arg !== undefined && arg !== '-') text = arg;
  else if (process.stdin.isTTY) text = await promptLine(`Message to ${safeText(to)} (Enter sends, Ctrl-D cancels): `);
  // The client refuses more than MAX_TEXT_BYTES; reading stops soon after, not at the end of a huge pipe.
  else text = chompOne(await readPiped(MAX_TEXT_BYTES + 2, 'the message'));
  if (text.trim() === '') {
    throw new CliError(
      'no message text, nothing sent: give it on standard input (e.g. `echo "hello" | parley send NAME`), or type it at the prompt',
      EXIT.usage,
    );
  }
  return text;
}

/** The link code: `arg`, or one line read from standard input (a prompt on a terminal). */
export async function readLinkCode(arg: string | undefined): Promise<string> {
  let code: string;
  if (arg !== undefined && arg !== '-') code = arg;
  else if (process.stdin.isTTY) code = await promptLine('Code shown on the new device: ');
  else code = (await readPiped(4096, 'the link code')).split('\n')[0] ?? '';
  code = code.trim();
  if (code === '') {
    throw new CliError('no link code: type the code the new device shows (`parley link` prints it)', EXIT.usage);
  }
  return code;
}

/** One line of confirmation: typed at `prompt` on a terminal, else the first line of standard input. */
export async function readConfirmation(prompt: string): Promise<string> {
  if (process.stdin.isTTY) return (await promptLine(prompt)).trim();
  return (await readPiped(4096, 'the confirmation')).split(/\r?\n/)[0]?.trim() ?? '';
}
