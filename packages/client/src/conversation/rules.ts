/**
 * The rules for reactions, edits and deletes for everyone (docs/protocol.md §12.1), applied the
 * same way to what this device sends, what a contact or group member sends, and what this
 * account's other devices send: each either changes the conversation or is refused with one
 * typed reason, and a refusal changes nothing.
 *
 * Times compare the sender's clocks only (the original's `ts` and the edit's `ts`), so an edit
 * that waited in a queue for days is judged by when it was made, not when it arrived.
 */
import type { DeleteContent, EditContent, ReactionContent } from '../content.ts';
import type { MessageRow } from '../events.ts';
import type { ConversationStore } from './conversation-store.ts';
import type { PendingReactions } from './pending-reactions.ts';
import type { ConversationRejection } from './rejections.ts';

export type { ConversationRejection } from './rejections.ts';

/** How long after sending its sender may edit or delete a message for everyone: 24 h. */
export const EDIT_WINDOW_MS = 24 * 3600 * 1000;

/** What applying gives. */
export type RuleOutcome =
  | { readonly ok: true; readonly target: MessageRow; readonly changed: boolean }
  | { readonly ok: false; readonly reason: ConversationRejection };

/** The change to apply: who made it (`actor`), in which conversation. */
export interface RuleContext {
  readonly store: ConversationStore;
  readonly pending: PendingReactions;
  /** The conversation id (an account, or `group:…`). */
  readonly peer: string;
  /** The account that made the change (authenticated by the session or the group). */
  readonly actor: string;
  /** This account (whose queued sends a delete drops). */
  readonly me: string;
}

const refuse = (reason: ConversationRejection): RuleOutcome => ({ ok: false, reason });

/** The actor's own message `id` in the conversation, or why there is none it may change. */
function ownTarget(ctx: RuleContext, id: string, ts: number): RuleOutcome {
  const target = ctx.store.line(ctx.peer, ctx.actor, id);
  if (target === undefined) {
    // Someone else's message with that id: an attempt to change another's words.
    return refuse(ctx.store.linesWithId(ctx.peer, id).length > 0 ? 'NOT_SENDER' : 'UNKNOWN_MESSAGE');
  }
  if (target.direction === 'system' || target.kind === 'unsupported') return refuse('NOT_A_MESSAGE');
  if (target.deleted_at !== null) return refuse('DELETED');
  if (ts < target.sent_at || ts - target.sent_at > EDIT_WINDOW_MS) return refuse('TOO_LATE');
  return { ok: true, target, changed: false };
}

/** Applies an edit: the new text replaces the old, which joins the message's edit history. */
export function applyEdit(ctx: RuleContext, edit: EditContent): RuleOutcome {
  const checked = ownTarget(ctx, edit.mid, edit.ts);
  if (!checked.ok) return checked;
  const changed = ctx.store.edit(ctx.actor, edit.mid, edit.id, edit.text, edit.ts);
  return { ok: true, target: checked.target, changed };
}

/** Applies a delete for everyone: the message becomes a tombstone. */
export function applyDelete(ctx: RuleContext, del: DeleteContent): RuleOutcome {
  const target = ctx.store.line(ctx.peer, ctx.actor, del.mid);
  // Deleting twice (a copy from another device, a resend) is not an error: it is done.
  if (target?.deleted_at !== null && target?.deleted_at !== undefined) return { ok: true, target, changed: false };
  const checked = ownTarget(ctx, del.mid, del.ts);
  if (!checked.ok) return checked;
  ctx.store.tombstone(ctx.peer, ctx.actor, del.mid, del.ts, ctx.actor === ctx.me);
  ctx.pending.drop(ctx.peer, ctx.actor, del.mid);
  return { ok: true, target: checked.target, changed: true };
}

/**
 * Applies a reaction (or its removal). A reaction to a message not (yet) here waits in
 * `pending` for a late original, and is refused as `UNKNOWN_MESSAGE`.
 */
export function applyReaction(ctx: RuleContext, r: ReactionContent, now: number): RuleOutcome {
  const target = ctx.store.line(ctx.peer, r.mfrom, r.mid);
  if (target === undefined) {
    ctx.pending.add(ctx.peer, ctx.actor, r, now);
    return refuse('UNKNOWN_MESSAGE');
  }
  if (target.direction === 'system' || target.kind === 'unsupported') return refuse('NOT_A_MESSAGE');
  if (target.deleted_at !== null) return refuse('DELETED');
  ctx.store.react(r.mfrom, r.mid, ctx.actor, r.emoji, r.ts);
  return { ok: true, target, changed: true };
}
