/**
 * The vocabulary the conversation rules and their events share (no imports, so the event
 * types can name it): why a reaction, edit or delete was refused, and a message's reactions.
 */

/** Why a reaction, edit or delete was refused. */
export type ConversationRejection =
  /** No such message in this conversation (a reaction to it waits briefly for a late original). */
  | 'UNKNOWN_MESSAGE'
  /** The message is someone else's: only its sender's account may edit or delete it. */
  | 'NOT_SENDER'
  /** More than 24 h after the message was sent (or dated before it). */
  | 'TOO_LATE'
  /** The message was deleted for everyone. */
  | 'DELETED'
  /** A system line or content this version cannot read: nothing to react to, edit or delete. */
  | 'NOT_A_MESSAGE';

/** A message's reactions: per emoji, how many and whose. */
export interface ReactionCount {
  readonly emoji: string;
  readonly count: number;
  /** The accounts that reacted with it, in the order they did. */
  readonly by: readonly string[];
}
