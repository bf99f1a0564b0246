/**
 * Who may change a group (docs/protocol.md §14.4). MLS authenticates every commit to a member
 * leaf; this policy decides whether that member may make the change. Every client applies it
 * to every commit it receives, so a server — or a member — that breaks it changes nothing.
 *
 * - Only admins (accounts listed in the encrypted metadata) add or remove other accounts and
 *   change the metadata.
 * - Any member may add or remove devices of its own account (a newly linked or an unlinked
 *   device), and remove an account that announced it is leaving.
 * - PSK, ReInit, ExternalInit and custom proposals are never used and always refused.
 */
import type { Proposal } from 'ts-mls';
import { ProtocolError } from '../errors.ts';
import {
  type CommitPolicy,
  decodeGroupMeta,
  type GroupState,
  groupMetaOf,
  isExternalSenders,
  leafAt,
} from './group.ts';
import { deviceOfCredential, GROUP_META_EXTENSION } from './mls.ts';

/**
 * The policy for one group; `departed` holds the accounts that sent a signed leave message in
 * this group (they may be removed by any member).
 */
export function groupCommitPolicy(departed: ReadonlySet<string>): CommitPolicy {
  return (incoming, state) => {
    if (incoming.kind !== 'commit') return 'standalone proposals are not used';
    if (incoming.senderLeafIndex === undefined) return 'the commit is not from a member';
    const committer = leafAt(state, incoming.senderLeafIndex);
    if (committer === undefined) return 'the committer has no leaf';
    const admins = groupMetaOf(state).admins;
    const isAdmin = admins.includes(committer.account);
    for (const { proposal, senderLeafIndex } of incoming.proposals) {
      if (senderLeafIndex !== undefined && senderLeafIndex !== incoming.senderLeafIndex) {
        return 'proposals by reference are not used';
      }
      const refusal = judge(proposal, state, committer.account, isAdmin, departed);
      if (refusal !== undefined) return refusal;
    }
    return undefined;
  };
}

function judge(
  proposal: Proposal,
  state: GroupState,
  committer: string,
  isAdmin: boolean,
  departed: ReadonlySet<string>,
): string | undefined {
  switch (proposal.proposalType) {
    case 'add': {
      const added = deviceOfCredential(proposal.add.keyPackage.leafNode.credential);
      if (added === undefined) return 'the added leaf has a foreign credential';
      return isAdmin || added.account === committer ? undefined : 'only admins add other accounts';
    }
    case 'remove': {
      const removed = leafAt(state, proposal.remove.removed);
      if (removed === undefined) return 'the removed leaf is empty';
      if (isAdmin || removed.account === committer || departed.has(removed.account)) return undefined;
      return 'only admins remove other accounts';
    }
    case 'update':
      return undefined;
    case 'group_context_extensions': {
      if (!isAdmin) return 'only admins change the group metadata';
      const extensions = proposal.groupContextExtensions.extensions;
      if (extensions.some(isExternalSenders)) return 'external senders are not allowed';
      const ext = extensions.find((e) => e.extensionType === GROUP_META_EXTENSION);
      if (ext === undefined) return 'the group metadata cannot be dropped';
      try {
        decodeGroupMeta(ext.extensionData);
      } catch (err) {
        if (err instanceof ProtocolError) return 'the new group metadata is malformed';
        throw err;
      }
      return undefined;
    }
    default:
      return `${String(proposal.proposalType)} proposals are not used`;
  }
}
