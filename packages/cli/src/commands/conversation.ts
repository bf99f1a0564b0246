/**
 * `parley history`, `react`, `edit`, `delete` and `send --reply-to` (docs/protocol.md §12.1):
 * the conversation's lines with their ids, and the changes a person makes to them. Each change
 * says what really happened: `sent` once the server stored it, `queued` (exit 3) when it is in
 * the home's outbox and goes out with the next connection, or why it was refused (exit 1,
 * nothing sent).
 */
import { type ConversationMessage, groupPeer, isClientError, openClient, type ParleyClient } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connect, homeDir, openHome } from '../home.ts';
import { safeJson, safeLine, safeText } from '../terminal-text.ts';
import { resolveGroup } from './group.ts';

/** A conversation named on the command line: an account, or `--group G`. */
export type Target = { readonly name: string } | { readonly group: string };

/** Most lines `history` prints unless --limit says otherwise. */
const DEFAULT_LIMIT = 50;

/** The conversation id and how to call it in output. */
function peerOf(client: ParleyClient, target: Target): { peer: string; title: string } {
  if ('name' in target) return { peer: target.name, title: safeText(target.name) };
  const g = resolveGroup(client, target.group);
  return { peer: groupPeer(g.id), title: `“${safeText(g.name)}”` };
}

/** One history line: `ID  sender: text`, with its quote, edited/deleted marks and reactions. */
export function formatHistoryLine(m: ConversationMessage): string {
  if (m.direction === 'system') return `${m.id}  -- ${safeText(m.text)} --`;
  const who = m.direction === 'out' ? 'you' : m.sender;
  const quote =
    m.replyTo === undefined ? '' : `[reply to ${safeText(m.replyTo.sender)}: “${safeText(m.replyTo.snippet)}”] `;
  const body = m.deleted ? '(deleted)' : m.text;
  const marks = [
    ...(m.editedAt !== undefined && !m.deleted ? ['(edited)'] : []),
    ...(m.reactions.length > 0 ? [m.reactions.map((r) => `${r.emoji} ${r.count}`).join('  ')] : []),
  ];
  const tail = marks.length === 0 ? '' : `  ${safeText(marks.join('  '))}`;
  return `${safeLine(`${m.id}  ${safeText(who)}: ${quote}`, body)}${tail}`;
}

/** `parley history NAME | --group G [--limit N] [--json]`: this home's lines, oldest first (no network). */
export async function history(target: Target, flags: Flags): Promise<number> {
  const limit = flags.limit === undefined ? DEFAULT_LIMIT : Number(flags.limit);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > 10_000)
    throw new CliError('--limit is a number of lines from 1 to 10000', EXIT.usage);
  const client = await openClient({ home: homeDir(flags.home) });
  try {
    const { peer } = peerOf(client, target);
    for (const m of client.history(peer, { limit })) {
      process.stdout.write(
        `${
          flags.json
            ? safeJson({
                id: m.id,
                from: m.sender,
                direction: m.direction,
                text: m.text,
                sentAt: m.sentAt,
                status: m.status,
                kind: m.kind,
                ...(m.replyTo === undefined ? {} : { replyTo: m.replyTo }),
                edited: m.editedAt !== undefined,
                deleted: m.deleted,
                reactions: m.reactions,
              })
            : formatHistoryLine(m)
        }\n`,
      );
    }
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

/** What a change command does, and how to say it. */
export type Change =
  | { readonly action: 'reply'; readonly id: string; readonly text: string }
  | { readonly action: 'react'; readonly id: string; readonly emoji: string | null }
  | { readonly action: 'edit'; readonly id: string; readonly text: string }
  | { readonly action: 'delete'; readonly id: string };

const DONE: Record<Change['action'], string> = {
  reply: 'reply',
  react: 'reaction',
  edit: 'edit',
  delete: 'delete for everyone',
};

/**
 * Makes one change and waits, within --timeout, until the server stored it. Refused changes
 * (not yours, too late, deleted, unknown id, not one emoji) fail at once and send nothing.
 */
export async function change(target: Target, c: Change, flags: Flags, deadline: Deadline): Promise<number> {
  const client = await connect(await openHome(flags, deadline), deadline);
  const events = client.events(deadline.signal);
  try {
    // Messages queued for this device first: the line being changed may be among them.
    await client.drained(deadline.signal);
    const { peer, title } = peerOf(client, target);
    let id: string;
    try {
      ({ id } = await (c.action === 'reply'
        ? client.reply(peer, c.id, c.text)
        : c.action === 'react'
          ? client.react(peer, c.id, c.emoji)
          : c.action === 'edit'
            ? client.edit(peer, c.id, c.text)
            : client.deleteForEveryone(peer, c.id)));
    } catch (err) {
      if (isClientError(err, 'MESSAGE_REJECTED') || isClientError(err, 'INVALID_ARGUMENT')) {
        const reason = (err.details as { reason?: string } | undefined)?.reason;
        if (flags.json) {
          process.stdout.write(`${safeJson({ action: c.action, status: 'refused', reason: reason ?? err.code })}\n`);
        }
        throw new CliError(`not sent: ${err.message}`, EXIT.failure);
      }
      throw err;
    }
    const report = (status: string): void => {
      process.stdout.write(
        flags.json
          ? `${safeJson({ action: c.action, id, target: c.id, status })}\n`
          : `${DONE[c.action]} ${status === 'sent' ? 'sent to' : 'queued for'} ${title}\n`,
      );
    };
    for await (const e of events) {
      if (e.type === 'sent' && e.id === id && e.to === peer) {
        report('sent');
        return EXIT.ok;
      }
      if (e.type === 'send-failed' && e.id === id && e.to === peer)
        throw new CliError(`not sent: ${e.reason}`, EXIT.failure);
    }
    report('queued');
    return EXIT.queued;
  } finally {
    await events.return?.();
    await client.close();
  }
}
