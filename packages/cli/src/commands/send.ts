/**
 * `parley send NAME TEXT`: sends one message and waits, within --timeout, until the server has
 * stored it (exit 0, "sent"). A message the server has not taken by then (unreachable, or the
 * connection lost and not back in time) stays in the home's outbox and goes out the next time
 * any `parley` command connects: the command says "queued" and exits 3. Anything else fails
 * with its reason.
 */
import { isClientError, queueFullCap } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connect, openHome } from '../home.ts';
import { resolveGroup } from './group.ts';
import { printWarnings } from './print.ts';

/** The "queued" outcome: exit 3, saying what happened and what happens next. */
function queued(why: string): CliError {
  return new CliError(
    `${why}; the message is queued in this home's outbox and will be sent the next time parley connects`,
    EXIT.queued,
  );
}

/** Why a send met QUEUE_FULL: the recipient's whole queue, or this account's share of it. */
function queueFullWhy(name: string, err: unknown): string {
  return queueFullCap(err) === 'sender-share'
    ? `not sent yet: ${name} has not taken the messages you already sent, and you hold your full share of their queue on the server`
    : `not sent yet: ${name}’s queue on the server is full (they have not taken their messages)`;
}

/** Sends and reports. */
export async function send(name: string, text: string, flags: Flags, deadline: Deadline): Promise<number> {
  const client = await openHome(flags.home, deadline);
  const stop = new AbortController();
  const warnings = printWarnings(client, stop.signal, new Set(['send-failed']));
  try {
    try {
      await client.connect(deadline.signal);
    } catch (err) {
      if (!isClientError(err, 'SERVER_UNREACHABLE')) throw err;
      await client.send(name, text);
      throw queued(err.message);
    }
    try {
      await client.sendAndWait(name, text, { signal: deadline.signal });
    } catch (err) {
      if (isClientError(err, 'QUEUED') && err.relayCode === 'QUEUE_FULL') throw queued(queueFullWhy(name, err));
      if (isClientError(err, 'QUEUED')) throw queued(`not sent within ${deadline.seconds} s`);
      if (isClientError(err, 'UNTRUSTED_IDENTITY')) {
        // Kept in the outbox: accepting the new key sends it.
        throw new CliError(
          `${err.message}; the message is held until then: run \`parley verify ${name}\`, compare, then \`parley verify ${name} --accept\``,
          EXIT.untrusted,
        );
      }
      throw err;
    }
    process.stdout.write(`sent to ${name}\n`);
    return EXIT.ok;
  } finally {
    stop.abort();
    await warnings;
    await client.close();
  }
}

/** Sends to a group and waits until the server has stored it (for every member device). */
export async function sendToGroup(ref: string, text: string, flags: Flags, deadline: Deadline): Promise<number> {
  const client = await connect(await openHome(flags.home, deadline), deadline);
  // Ends when the deadline passes; the group outbox keeps what it has not sent.
  const events = client.events(deadline.signal);
  try {
    await client.drained(deadline.signal);
    const g = resolveGroup(client, ref);
    const { id } = await client.sendToGroup(g.id, text);
    for await (const e of events) {
      if (e.type === 'sent' && e.id === id) {
        process.stdout.write(`sent to “${g.name}”\n`);
        return EXIT.ok;
      }
      if (e.type === 'send-failed' && e.id === id) throw new CliError(`not sent: ${e.reason}`, EXIT.failure);
      // Said at once: the member may not come back for days.
      if (e.type === 'send-delayed' && e.id === id) {
        throw queued(`not sent to “${g.name}” yet: a member’s queue on the server is full`);
      }
    }
    throw queued(`not sent to “${g.name}” within ${deadline.seconds} s`);
  } finally {
    await events.return?.();
    await client.close();
  }
}
