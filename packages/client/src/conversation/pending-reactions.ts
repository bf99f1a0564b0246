/**
 * Reactions that arrived before the message they react to (the original is late: another
 * device's queue, a group message behind a commit). Each waits at most `PENDING_REACTION_MS`,
 * and at most `MAX_PENDING_REACTIONS` wait at once (the oldest goes first), in memory only:
 * a reaction is worth little once its moment has passed, and a peer cannot grow the home
 * with reactions to ids that never come.
 */
import type { ReactionContent } from '../content.ts';

/** How long a reaction waits for its message: 10 minutes. */
export const PENDING_REACTION_MS = 10 * 60 * 1000;
/** Most reactions waiting at once. */
export const MAX_PENDING_REACTIONS = 100;

/** A reaction waiting for its message. */
export interface PendingReaction {
  readonly peer: string;
  readonly actor: string;
  readonly reaction: ReactionContent;
  readonly arrived: number;
}

/** The waiting room. */
export interface PendingReactions {
  add(peer: string, actor: string, reaction: ReactionContent, now: number): void;
  /** Takes (removes and returns) the reactions waiting for message `id` of `sender` in `peer`, still in time. */
  take(peer: string, sender: string, id: string, now: number): PendingReaction[];
  /** Forgets the reactions waiting for a message (it was deleted). */
  drop(peer: string, sender: string, id: string): void;
  size(now: number): number;
}

/** Creates an empty waiting room. */
export function createPendingReactions(): PendingReactions {
  // Insertion order is arrival order: the first entries are the oldest.
  const waiting = new Map<string, PendingReaction>();
  const keyOf = (peer: string, sender: string, id: string, actor: string): string =>
    JSON.stringify([peer, sender, id, actor]);
  const expire = (now: number): void => {
    for (const [k, p] of waiting) {
      if (now - p.arrived <= PENDING_REACTION_MS) break;
      waiting.delete(k);
    }
  };
  return {
    add(peer, actor, reaction, now) {
      expire(now);
      const key = keyOf(peer, reaction.mfrom, reaction.mid, actor);
      const earlier = waiting.get(key);
      if (earlier !== undefined && earlier.reaction.ts > reaction.ts) return;
      waiting.delete(key);
      waiting.set(key, { peer, actor, reaction, arrived: now });
      while (waiting.size > MAX_PENDING_REACTIONS) {
        const oldest = waiting.keys().next().value;
        if (oldest === undefined) break;
        waiting.delete(oldest);
      }
    },
    take(peer, sender, id, now) {
      expire(now);
      const out: PendingReaction[] = [];
      const prefix = JSON.stringify([peer, sender, id]).slice(0, -1);
      for (const [k, p] of waiting) {
        if (k.startsWith(`${prefix},`)) {
          out.push(p);
          waiting.delete(k);
        }
      }
      return out;
    },
    drop(peer, sender, id) {
      const prefix = JSON.stringify([peer, sender, id]).slice(0, -1);
      for (const k of [...waiting.keys()]) if (k.startsWith(`${prefix},`)) waiting.delete(k);
    },
    size(now) {
      expire(now);
      return waiting.size;
    },
  };
}
