/**
 * `parley send NAME TEXT`: sends one message and waits, within --timeout, until the server has
 * stored it (exit 0, "sent"). A message the server has not taken by then (unreachable, or the
 * connection lost and not back in time) stays in the home's outbox and goes out the next time
 * any `parley` command connects: the command says "queued" and exits 3. A message held because
 * NAME's account key changed says "held" and exits 4: `--accept-change` sends what is held (and
 * TEXT, if given), `--discard-held` drops it. Anything else fails with its reason.
 */
import { isClientError, isRelayRefusal, type ParleyClient, queueFullCap } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connect, openHome } from '../home.ts';
import { safeText } from '../terminal-text.ts';
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

/** The "held" outcome: exit 4, saying that nothing was sent and how to go on. */
function held(name: string): CliError {
  return new CliError(
    `not sent: ${name}'s safety number changed (their account key was replaced), so the message is held in this home. Compare the new number with \`parley verify ${name}\`; then \`parley send ${name} --accept-change\` sends what is held (for a contact you had verified: \`parley verify ${name} --accept DIGITS\`), or \`parley send ${name} --discard-held\` drops it`,
    EXIT.untrusted,
  );
}

/** `--accept-change`: takes NAME's new key and sends the held messages (resolves once the server took them). */
async function releaseHeld(client: ParleyClient, name: string, deadline: Deadline): Promise<number> {
  const { released } = await client.acceptChange(name);
  const { notSent } = await waitSent(client, name, released, deadline);
  if (notSent > 0) throw queued(`${notSent} of ${released.length} held messages to ${name} not sent yet`);
  process.stdout.write(
    released.length === 0
      ? `accepted ${name}'s new key; nothing was held\n`
      : `sent ${released.length} held messages to ${name}\n`,
  );
  return released.length;
}

/** Waits until each of `ids` is sent (or failed), within the deadline; says how many are not. */
async function waitSent(
  client: ParleyClient,
  name: string,
  ids: readonly string[],
  deadline: Deadline,
): Promise<{ notSent: number }> {
  const left = new Set(ids);
  const statusOf = () => new Map(client.history(name, 1000).map((m) => [m.id, m.status]));
  const settle = () => {
    for (const [id, status] of statusOf()) {
      if (!left.has(id)) continue;
      if (status === 'failed') throw new CliError(`a held message to ${name} could not be sent`, EXIT.failure);
      if (status !== 'pending' && status !== 'held') left.delete(id);
    }
  };
  const events = client.events(deadline.signal);
  try {
    settle();
    if (left.size === 0) return { notSent: 0 };
    for await (const e of events) {
      if ((e.type === 'sent' || e.type === 'send-failed') && e.to === name) settle();
      if (left.size === 0) break;
    }
  } finally {
    await events.return?.();
  }
  return { notSent: left.size };
}

/** Sends and reports. */
export async function send(name: string, text: string | undefined, flags: Flags, deadline: Deadline): Promise<number> {
  const client = await openHome(flags, deadline);
  const stop = new AbortController();
  const warnings = printWarnings(client, stop.signal, new Set(['send-failed', 'held']));
  try {
    if (flags['discard-held']) {
      const n = client.discardHeld(name);
      process.stdout.write(`discarded ${n} held messages to ${name}; they were not sent\n`);
      if (text === undefined) return EXIT.ok;
    }
    if (flags['accept-change']) {
      await client.connect(deadline.signal);
      await releaseHeld(client, name, deadline);
      if (text === undefined) return EXIT.ok;
    }
    if (text === undefined) throw new CliError('usage: parley send NAME TEXT [--home DIR]', EXIT.usage);
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
      if (isRelayRefusal(err, 'STORAGE_UNAVAILABLE'))
        throw queued(
          `not sent: the server could not store it (its storage is ${err.details?.reason === 'full' ? 'full' : 'failing'})`,
        );
      if (isClientError(err, 'UNTRUSTED_IDENTITY')) {
        // Kept in this home, marked held: --accept-change (or verifying) sends it.
        throw held(name);
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
  const client = await connect(await openHome(flags, deadline), deadline);
  // Ends when the deadline passes; the group outbox keeps what it has not sent.
  const events = client.events(deadline.signal);
  try {
    await client.drained(deadline.signal);
    const g = resolveGroup(client, ref);
    const { id } = await client.sendToGroup(g.id, text);
    for await (const e of events) {
      if (e.type === 'sent' && e.id === id) {
        process.stdout.write(`sent to “${safeText(g.name)}”\n`);
        return EXIT.ok;
      }
      if (e.type === 'send-failed' && e.id === id) throw new CliError(`not sent: ${e.reason}`, EXIT.failure);
      // Said at once: the member may not come back for days.
      if (e.type === 'send-delayed' && e.id === id) {
        throw queued(`not sent to “${safeText(g.name)}” yet: a member’s queue on the server is full`);
      }
    }
    throw queued(`not sent to “${safeText(g.name)}” within ${deadline.seconds} s`);
  } finally {
    await events.return?.();
    await client.close();
  }
}
