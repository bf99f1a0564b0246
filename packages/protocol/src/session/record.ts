/**
 * A session record: the sessions held with one remote device. The current state is used to
 * send; previous ones (from simultaneous initiation or a peer's reset) still decrypt late
 * messages, as in libsignal's SessionRecord.
 */
import { compareBytes } from '../bytes.ts';
import type { SessionState } from '../ratchet/state.ts';

/** How many superseded states a record keeps for late messages. */
export const MAX_PREVIOUS_SESSIONS = 10;

/** The sessions with one remote device. */
export interface SessionRecord {
  readonly version: 1;
  readonly current: SessionState | undefined;
  readonly previous: readonly SessionState[];
}

/** An empty record. */
export function emptySessionRecord(): SessionRecord {
  return { version: 1, current: undefined, previous: [] };
}

/** Makes `state` current, archiving the old current (bounded). */
export function promoteState(record: SessionRecord, state: SessionState): SessionRecord {
  const others = [record.current, ...record.previous].filter((s): s is SessionState => s !== undefined);
  return { version: 1, current: state, previous: others.slice(0, MAX_PREVIOUS_SESSIONS) };
}

/** Archives `state` behind the current one (used when a simultaneous initiation loses the tie). */
export function archiveState(record: SessionRecord, state: SessionState): SessionRecord {
  return { version: 1, current: record.current, previous: [state, ...record.previous].slice(0, MAX_PREVIOUS_SESSIONS) };
}

/**
 * Simultaneous-initiation tie-break (docs/protocol.md §5): when a new responder state arrives
 * while our current state is an unanswered one we initiated, both sides keep as current the
 * session whose initiator base key sorts lower, so they converge on one session.
 */
export function newStateWinsTie(current: SessionState | undefined, incoming: SessionState): boolean {
  if (current === undefined || current.pendingInitial === undefined) return true;
  return compareBytes(incoming.baseKey, current.baseKey) < 0;
}
