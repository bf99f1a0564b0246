/**
 * `parley conversations [--archived]`: lists this home's conversations (pinned first, then the
 * most recent), each with its flags, unread count and last line. `parley archive|unarchive|
 * mute|unmute|pin|unpin NAME` (or `--group GROUP`) changes one conversation's flag,
 * `parley block|unblock NAME` blocks a contact, `parley forget NAME` deletes a conversation from
 * this home. All of it is local: nothing is sent, the server is not asked.
 */
import { groupIdOf, groupPeer, openClient, type ParleyClient } from '@parley/client';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';
import { homeDir } from '../home.ts';
import { safeLine, safeText } from '../terminal-text.ts';
import { resolveGroup } from './group.ts';

/** The commands that change one conversation, and what each says when done. */
export const CONVERSATION_ACTIONS = {
  archive: 'archived',
  unarchive: 'unarchived',
  mute: 'muted',
  unmute: 'unmuted',
  pin: 'pinned',
  unpin: 'unpinned',
  block: 'blocked',
  unblock: 'unblocked',
  forget: 'forgot',
} as const;

export type ConversationAction = keyof typeof CONVERSATION_ACTIONS;

const open = (flags: Flags): Promise<ParleyClient> => openClient({ home: homeDir(flags.home) });

/** How a conversation is named in output: the account, or `group "NAME"`. */
function titleOf(client: ParleyClient, peer: string): string {
  const id = groupIdOf(peer);
  if (id === undefined) return safeText(peer);
  try {
    return `group “${safeText(client.group(id).name)}”`;
  } catch {
    return `group ${safeText(id)}`;
  }
}

/** Prints the conversations: archived ones only with `--archived`, the others otherwise. */
export async function listConversations(flags: Flags): Promise<number> {
  const client = await open(flags);
  try {
    const archived = flags.archived === true;
    const list = client.conversations().filter((c) => c.archived === archived);
    if (list.length === 0) {
      process.stdout.write(archived ? 'no archived conversations\n' : 'no conversations\n');
      return EXIT.ok;
    }
    const columns = process.stdout.isTTY ? process.stdout.columns : undefined;
    for (const c of list) {
      const marks = [c.pinned && 'pinned', c.muted && 'muted', c.blocked && 'blocked'].filter(Boolean);
      const unread = c.unread > 0 ? ` · ${c.unread} unread` : '';
      const who =
        c.last.direction === 'out' ? 'you: ' : c.last.direction === 'in' ? `${safeText(c.last.sender)}: ` : '';
      const head = `${titleOf(client, c.peer)}${marks.length > 0 ? ` (${marks.join(', ')})` : ''}${unread}\n  ${who}`;
      process.stdout.write(`${safeLine(head, c.last.text, columns)}\n`);
    }
    const hidden = client.conversations().filter((c) => c.archived !== archived).length;
    if (!archived && hidden > 0) process.stdout.write(`(${hidden} archived: parley conversations --archived)\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}

/** Runs one action on NAME (an account) or on `--group GROUP`. */
export async function conversationAction(
  action: ConversationAction,
  name: string | undefined,
  flags: Flags,
): Promise<number> {
  if ((name === undefined) === (flags.group === undefined)) {
    throw new CliError(`usage: parley ${action} NAME | parley ${action} --group GROUP`, EXIT.usage);
  }
  if ((action === 'block' || action === 'unblock') && name === undefined) {
    throw new CliError(`${action} takes an account name; groups are muted or archived instead`, EXIT.usage);
  }
  const client = await open(flags);
  try {
    const peer = name ?? groupPeer(resolveGroup(client, flags.group as string).id);
    const title = titleOf(client, peer);
    switch (action) {
      case 'archive':
      case 'unarchive':
        client.setArchived(peer, action === 'archive');
        break;
      case 'mute':
      case 'unmute':
        client.setMuted(peer, action === 'mute');
        break;
      case 'pin':
      case 'unpin':
        client.setPinned(peer, action === 'pin');
        break;
      case 'block':
        client.block(peer);
        process.stdout.write(
          `blocked ${title}: their messages are dropped when they arrive and they get no receipts (\`parley unblock ${title}\` undoes it)\n`,
        );
        return EXIT.ok;
      case 'unblock':
        client.unblock(peer);
        break;
      case 'forget': {
        const n = client.forgetConversation(peer);
        process.stdout.write(
          `forgot the conversation with ${title} (${n} message${n === 1 ? '' : 's'} deleted from this home)\n`,
        );
        return EXIT.ok;
      }
    }
    process.stdout.write(`${CONVERSATION_ACTIONS[action]} ${title}\n`);
    return EXIT.ok;
  } finally {
    await client.close();
  }
}
