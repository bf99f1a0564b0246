/**
 * `parley timer NAME [5m|1h|1d|1w|4w|off]` (or `--group GROUP`): shows or sets a conversation's
 * disappearing-message timer. Setting it sends the change to the other participants (and this
 * account's other devices), who see "NAME set disappearing messages to …"; every later message
 * is deleted on each device that long after it arrived there (docs/protocol.md §21).
 */
import { DISAPPEARING_TIMERS, openClient, type ParleyClient } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connectedClient, homeDir } from '../home.ts';
import { safeText } from '../terminal-text.ts';
import { resolveGroup } from './group.ts';

/** The CLI's words for the timers: 5m 1h 1d 1w 4w, and off. */
export const TIMER_WORDS = [...DISAPPEARING_TIMERS.map((t) => t.short), 'off'].join('|');

const words = (seconds: number | null): string =>
  DISAPPEARING_TIMERS.find((t) => t.seconds === seconds)?.words ?? 'off';

/** Shows the timer of `target`, or sets it to `value`. */
export async function timer(
  target: { name: string } | { group: string },
  value: string | undefined,
  flags: Flags,
  deadline: () => Deadline,
): Promise<number> {
  let seconds: number | null | undefined;
  if (value !== undefined) {
    const choice = DISAPPEARING_TIMERS.find((t) => t.short === value);
    if (choice === undefined && value !== 'off') {
      throw new CliError(`a disappearing-message timer is one of ${TIMER_WORDS}`, EXIT.usage);
    }
    seconds = choice?.seconds ?? null;
  }
  // Showing needs no server; setting sends the change.
  const client: ParleyClient =
    seconds === undefined ? await openClient({ home: homeDir(flags.home) }) : await connectedClient(flags, deadline());
  try {
    const peer = 'name' in target ? target.name : { group: resolveGroup(client, target.group).id };
    const label = 'name' in target ? safeText(target.name) : `“${safeText(resolveGroup(client, target.group).name)}”`;
    if (seconds !== undefined) {
      await client.setTimer(peer, seconds);
      await client.idle();
      process.stdout.write(`disappearing messages with ${label}: ${words(seconds)} (set)\n`);
      return EXIT.ok;
    }
    process.stdout.write(`disappearing messages with ${label}: ${words(client.timer(peer))}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
