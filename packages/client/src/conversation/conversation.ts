/**
 * Replies, reactions, edits and deletes for everyone (docs/protocol.md §12.1), over both kinds
 * of conversation: the SDK's methods (`reply`, `react`, `edit`, `deleteForEveryone`,
 * `history`) and the inbound side both inboxes call. What this device sends goes through the
 * same rules (`rules.ts`) as what arrives, before it is queued, so a change the receivers would
 * refuse is refused here with the same reason.
 */

import { isOneEmoji } from '../content/emoji.ts';
import {
  type ContentError,
  type DecodedContent,
  type DeleteContent,
  type EditContent,
  MAX_SNIPPET_CHARS,
  MAX_TEXT_BYTES,
  type ReactionContent,
  type ReplyQuote,
  type TextContent,
} from '../content.ts';
import { ClientError } from '../errors.ts';
import { type EventHub, type MessageRow, type StoredMessage, storedMessageFromRow } from '../events.ts';
import type { ConversationStore } from './conversation-store.ts';
import { createPendingReactions } from './pending-reactions.ts';
import type { ConversationRejection, ReactionCount } from './rejections.ts';

export type { ReactionCount } from './rejections.ts';

import { applyDelete, applyEdit, applyReaction, type RuleOutcome } from './rules.ts';

/** A line of the history with its reactions. */
export interface ConversationMessage extends StoredMessage {
  readonly reactions: readonly ReactionCount[];
}

/** A change this device makes: the content, sent to the conversation (and this account's other devices). */
export type ConversationContent = TextContent | ReactionContent | EditContent | DeleteContent;

/** How a conversation's content leaves this device. */
export interface ConversationTransport {
  /**
   * Queues `content` to the conversation `peer` (and this account's other devices). With `line`,
   * also stores it as our line, calling `annotate` in the same transaction. Resolves once
   * stored and queued.
   */
  send(peer: string, content: ConversationContent, line: string | undefined, annotate?: () => void): Promise<void>;
}

/** What the module needs. */
export interface ConversationDeps {
  readonly store: ConversationStore;
  readonly events: EventHub;
  readonly clock: () => number;
  newId(): string;
  me(): string;
  /** Most recent lines of `peer`, oldest first. */
  historyRows(peer: string, limit: number): MessageRow[];
  readonly transport: ConversationTransport;
}

/** A reaction, edit or delete decoded from a delivery. */
export type ConversationChange = Extract<DecodedContent, { kind: 'reaction' | 'edit' | 'delete' }>;

/** The module. */
export interface Conversations {
  /** Sends `text` to `peer` quoting its message `id`. */
  reply(peer: string, id: string, text: string): Promise<{ id: string }>;
  /** Sets this account's reaction to message `id` (`null` removes it). */
  react(peer: string, id: string, emoji: string | null): Promise<{ id: string }>;
  /** Replaces the text of our message `id` (within 24 h of sending it). */
  edit(peer: string, id: string, text: string): Promise<{ id: string }>;
  /** Deletes our message `id` for everyone (within 24 h of sending it). */
  deleteForEveryone(peer: string, id: string): Promise<{ id: string }>;
  /** The last `limit` lines of `peer`, oldest first, with reactions. */
  history(peer: string, limit: number): ConversationMessage[];
  /** The earlier texts of a message, oldest first. */
  editHistory(peer: string, id: string): { readonly text: string; readonly replacedAt: number }[];
  /** Inbound: a line was stored (inside its transaction); annotates it and applies reactions that waited for it. */
  lineStored(peer: string, sender: string, id: string, extra: { re?: ReplyQuote; unsupported?: boolean }): void;
  /** Inbound: a reaction, edit or delete from `actor` in `peer`. */
  apply(peer: string, actor: string, change: ConversationChange): void;
  /** Inbound: a content record was refused by the decoder. */
  rejected(from: string, error: ContentError): void;
}

/** The snippet a reply carries: the start of the quoted text, at most `MAX_SNIPPET_CHARS` code points. */
export function snippetOf(text: string): string {
  return [...text].slice(0, MAX_SNIPPET_CHARS).join('');
}

const REJECTION_TEXT: Record<ConversationRejection, string> = {
  UNKNOWN_MESSAGE: 'no such message in this conversation',
  NOT_SENDER: 'only the sender of a message may edit or delete it',
  TOO_LATE: 'a message can be edited or deleted only within 24 hours of sending it',
  DELETED: 'the message was deleted',
  NOT_A_MESSAGE: 'that line is not a message',
};

/** Creates the module. */
export function createConversations(deps: ConversationDeps): Conversations {
  const { store, events } = deps;
  const pending = createPendingReactions();
  const ctxOf = (peer: string, actor: string) => ({ store, pending, peer, actor, me: deps.me() });

  const countsOf = (sender: string, id: string): ReactionCount[] => {
    const byEmoji = new Map<string, string[]>();
    for (const r of store.reactions(sender, id)) byEmoji.set(r.emoji, [...(byEmoji.get(r.emoji) ?? []), r.reactor]);
    return [...byEmoji].map(([emoji, by]) => ({ emoji, count: by.length, by }));
  };
  const withReactions = (row: MessageRow): ConversationMessage => ({
    ...storedMessageFromRow(row),
    reactions: countsOf(row.sender, row.id),
  });

  /** Emits what an applied change did. */
  const announce = (peer: string, actor: string, change: ConversationChange, outcome: RuleOutcome): void => {
    if (!outcome.ok) {
      events.emit({ type: 'content-rejected', peer, from: actor, content: change.kind, reason: outcome.reason });
      return;
    }
    if (!outcome.changed) return;
    const row = store.line(peer, outcome.target.sender, outcome.target.id);
    if (row === undefined) return;
    if (change.kind === 'reaction') {
      events.emit({
        type: 'reaction',
        peer,
        messageId: row.id,
        messageSender: row.sender,
        by: actor,
        emoji: change.content.emoji,
        reactions: countsOf(row.sender, row.id),
      });
    } else events.emit({ type: change.kind, message: storedMessageFromRow(row) });
  };

  const applyChange = (peer: string, actor: string, change: ConversationChange): RuleOutcome => {
    const ctx = ctxOf(peer, actor);
    return store.transaction(() => {
      switch (change.kind) {
        case 'reaction':
          return applyReaction(ctx, change.content, deps.clock());
        case 'edit':
          return applyEdit(ctx, change.content);
        case 'delete':
          return applyDelete(ctx, change.content);
      }
    });
  };

  /** The line `id` in `peer` (ours or theirs) a user points at. */
  const target = (peer: string, id: string): MessageRow => {
    const rows = store.linesWithId(peer, id).filter((r) => r.direction !== 'system');
    const row = rows[0];
    if (row === undefined) throw rejection('UNKNOWN_MESSAGE');
    return row;
  };
  const rejection = (reason: ConversationRejection): ClientError =>
    new ClientError('MESSAGE_REJECTED', REJECTION_TEXT[reason], { details: { reason } });

  /** Applies our own change here first (the same rules as receivers), then sends it. */
  const sendChange = async (peer: string, change: ConversationChange): Promise<{ id: string }> => {
    const outcome = applyChange(peer, deps.me(), change);
    if (!outcome.ok) throw rejection(outcome.reason);
    await deps.transport.send(peer, change.content, undefined);
    announce(peer, deps.me(), change, outcome);
    return { id: change.content.id };
  };
  const head = () => ({ v: 1 as const, id: deps.newId(), ts: deps.clock() });
  const checkText = (text: string): void => {
    if (new TextEncoder().encode(text).length > MAX_TEXT_BYTES)
      throw new ClientError('INVALID_ARGUMENT', `messages are limited to ${MAX_TEXT_BYTES} bytes`);
  };

  return {
    async reply(peer, id, text) {
      checkText(text);
      const quoted = target(peer, id);
      if (quoted.kind === 'unsupported') throw rejection('NOT_A_MESSAGE');
      if (quoted.deleted_at !== null) throw rejection('DELETED');
      const re: ReplyQuote = { id: quoted.id, from: quoted.sender, snip: snippetOf(quoted.text) };
      const content: TextContent = { ...head(), text, re };
      await deps.transport.send(peer, content, text, () => store.setReply(deps.me(), content.id, re));
      return { id: content.id };
    },
    async react(peer, id, emoji) {
      if (emoji !== null && !isOneEmoji(emoji))
        throw new ClientError('INVALID_ARGUMENT', 'a reaction is exactly one emoji');
      const t = target(peer, id);
      const content: ReactionContent = { ...head(), t: 'reaction', mid: t.id, mfrom: t.sender, emoji };
      return sendChange(peer, { kind: 'reaction', content });
    },
    async edit(peer, id, text) {
      checkText(text);
      if (text.length === 0)
        throw new ClientError('INVALID_ARGUMENT', 'an edit needs text (delete the message instead)');
      const content: EditContent = { ...head(), t: 'edit', mid: target(peer, id).id, text };
      return sendChange(peer, { kind: 'edit', content });
    },
    async deleteForEveryone(peer, id) {
      const content: DeleteContent = { ...head(), t: 'delete', mid: target(peer, id).id };
      return sendChange(peer, { kind: 'delete', content });
    },
    history: (peer, limit) => deps.historyRows(peer, limit).map(withReactions),
    editHistory(peer, id) {
      const row = target(peer, id);
      return store.edits(row.sender, row.id).map((e) => ({ text: e.previous_text, replacedAt: e.edited_at }));
    },
    lineStored(peer, sender, id, extra) {
      if (extra.re !== undefined) store.setReply(sender, id, extra.re);
      if (extra.unsupported === true) store.markUnsupported(sender, id);
      for (const p of pending.take(peer, sender, id, deps.clock())) {
        const change: ConversationChange = { kind: 'reaction', content: p.reaction };
        announce(peer, p.actor, change, applyReaction(ctxOf(peer, p.actor), p.reaction, deps.clock()));
      }
    },
    apply(peer, actor, change) {
      announce(peer, actor, change, applyChange(peer, actor, change));
    },
    rejected(from, error) {
      events.emit({
        type: 'content-rejected',
        peer: undefined,
        from,
        content: 'content',
        reason: error.reason,
        ...(error.field === undefined ? {} : { field: error.field }),
      });
    },
  };
}
