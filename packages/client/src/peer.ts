/**
 * Conversation ids: what `StoredMessage.peer` and `ConversationSummary.peer` hold, and what
 * the CLI and the web client route by. A one-to-one conversation is the other account's name;
 * a group conversation is `group:` and the group id. Account names never contain `:`
 * (`ACCOUNT_NAME_PATTERN`), so the two cannot be confused. Parse with `parsePeer`, build with
 * `formatPeer` (or `groupPeer`): nothing else should look at the prefix.
 */

/** A conversation: with one account, or in a group. */
export type Peer =
  | { readonly kind: 'account'; readonly name: string }
  | { readonly kind: 'group'; readonly groupId: string };

const GROUP_PREFIX = 'group:';

/** The conversation a stored conversation id names. */
export function parsePeer(id: string): Peer {
  return id.startsWith(GROUP_PREFIX)
    ? { kind: 'group', groupId: id.slice(GROUP_PREFIX.length) }
    : { kind: 'account', name: id };
}

/** The conversation id of a conversation (the inverse of `parsePeer`). */
export function formatPeer(peer: Peer): string {
  return peer.kind === 'group' ? `${GROUP_PREFIX}${peer.groupId}` : peer.name;
}

/** The conversation id of a group in the message history. */
export function groupPeer(groupId: string): string {
  return formatPeer({ kind: 'group', groupId });
}

/** The group id of a conversation id, or `undefined` for a one-to-one conversation. */
export function groupIdOf(id: string): string | undefined {
  const peer = parsePeer(id);
  return peer.kind === 'group' ? peer.groupId : undefined;
}
