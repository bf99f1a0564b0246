/**
 * The receiving side of the conversation rules (src/conversation/rules.ts), on a migrated home
 * database: what a contact's device may send that a well-behaved client never would. Each
 * refusal has its reason and leaves every table as it was.
 */
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { DeleteContent, EditContent, ReactionContent } from '../../src/content.ts';
import { createConversationStore } from '../../src/conversation/conversation-store.ts';
import {
  createPendingReactions,
  MAX_PENDING_REACTIONS,
  PENDING_REACTION_MS,
} from '../../src/conversation/pending-reactions.ts';
import { applyDelete, applyEdit, applyReaction, EDIT_WINDOW_MS } from '../../src/conversation/rules.ts';
import { createDirectStore } from '../../src/direct/store.ts';
import { type HomeDatabase, migrateHomeDatabase } from '../../src/home/database.ts';

const T0 = 1_800_000_000_000;
const ALICE_MSG = 'alice-message-1';
const BOB_MSG = 'bob-message-01';

describe('conversation rules (receiving side)', () => {
  let db: HomeDatabase;
  let store: ReturnType<typeof createConversationStore>;
  let pending: ReturnType<typeof createPendingReactions>;
  /** Alice's home: a conversation with bob holding one message from each. */
  const ctx = (actor: string, peer = 'bob') => ({ store, pending, peer, actor, me: 'alice' });
  const snapshot = () =>
    ['messages', 'message_edits', 'reactions', 'outbox'].map((t) => db.prepare(`SELECT * FROM ${t}`).all());
  const edit = (mid: string, text: string, ts: number, id = `edit-${ts}`): EditContent => ({
    v: 1,
    id,
    ts,
    t: 'edit',
    mid,
    text,
  });
  const del = (mid: string, ts: number): DeleteContent => ({ v: 1, id: `delete-${ts}`, ts, t: 'delete', mid });
  const react = (mid: string, mfrom: string, emoji: string | null, ts: number): ReactionContent => ({
    v: 1,
    id: `react-${ts}`,
    ts,
    t: 'reaction',
    mid,
    mfrom,
    emoji,
  });

  beforeEach(() => {
    db = new Database(':memory:') as unknown as HomeDatabase;
    migrateHomeDatabase(db);
    const direct = createDirectStore(db);
    const base = { peer: 'bob', senderDevice: 1, sentAt: T0, receivedAt: T0 };
    direct.insertMessage({
      ...base,
      id: ALICE_MSG,
      direction: 'out',
      sender: 'alice',
      text: 'from alice',
      status: 'sent',
    });
    direct.insertMessage({
      ...base,
      id: BOB_MSG,
      direction: 'in',
      sender: 'bob',
      text: 'from bob',
      status: 'received',
    });
    store = createConversationStore(db);
    pending = createPendingReactions();
  });

  it('refuses an edit or delete of someone else’s message (NOT_SENDER), changing nothing', () => {
    const before = snapshot();
    assert.deepEqual(applyEdit(ctx('bob'), edit(ALICE_MSG, 'forged', T0 + 1)), { ok: false, reason: 'NOT_SENDER' });
    assert.deepEqual(applyDelete(ctx('bob'), del(ALICE_MSG, T0 + 1)), { ok: false, reason: 'NOT_SENDER' });
    assert.deepEqual(snapshot(), before);
  });

  it('refuses an edit or delete more than 24 h after sending, or dated before it (TOO_LATE)', () => {
    const before = snapshot();
    assert.deepEqual(applyEdit(ctx('bob'), edit(BOB_MSG, 'late', T0 + EDIT_WINDOW_MS + 1)), {
      ok: false,
      reason: 'TOO_LATE',
    });
    assert.deepEqual(applyDelete(ctx('bob'), del(BOB_MSG, T0 + EDIT_WINDOW_MS + 1)), { ok: false, reason: 'TOO_LATE' });
    assert.deepEqual(applyEdit(ctx('bob'), edit(BOB_MSG, 'early', T0 - 1)), { ok: false, reason: 'TOO_LATE' });
    assert.deepEqual(snapshot(), before);
    assert.equal(applyEdit(ctx('bob'), edit(BOB_MSG, 'just in time', T0 + EDIT_WINDOW_MS)).ok, true);
  });

  it('refuses an edit of a deleted message (DELETED), changing nothing', () => {
    assert.equal(applyDelete(ctx('bob'), del(BOB_MSG, T0 + 5)).ok, true);
    const before = snapshot();
    assert.deepEqual(applyEdit(ctx('bob'), edit(BOB_MSG, 'resurrected', T0 + 6)), { ok: false, reason: 'DELETED' });
    assert.deepEqual(applyReaction(ctx('alice'), react(BOB_MSG, 'bob', '👍', T0 + 7), T0), {
      ok: false,
      reason: 'DELETED',
    });
    assert.deepEqual(snapshot(), before);
  });

  it('refuses a change aimed at a message of another conversation (UNKNOWN_MESSAGE)', () => {
    const before = snapshot();
    assert.deepEqual(applyEdit(ctx('bob', 'carol'), edit(BOB_MSG, 'elsewhere', T0 + 1)), {
      ok: false,
      reason: 'UNKNOWN_MESSAGE',
    });
    assert.deepEqual(snapshot(), before);
  });

  it('keeps every edit’s earlier text, shows the newest, and applies a replayed edit once', () => {
    assert.equal(applyEdit(ctx('bob'), edit(BOB_MSG, 'second', T0 + 2)).ok, true);
    // An older edit arriving late joins the history without replacing the newer text.
    assert.equal(applyEdit(ctx('bob'), edit(BOB_MSG, 'first', T0 + 1)).ok, true);
    const replay = applyEdit(ctx('bob'), edit(BOB_MSG, 'second', T0 + 2));
    assert.ok(replay.ok && !replay.changed);
    assert.equal(store.line('bob', 'bob', BOB_MSG)?.text, 'second');
    assert.deepEqual(
      store.edits('bob', BOB_MSG).map((e) => e.previous_text),
      ['from bob', 'second'],
    );
  });

  it('a delete for everyone empties the text, edits, reactions and quotes of it', () => {
    applyEdit(ctx('bob'), edit(BOB_MSG, 'edited', T0 + 1));
    applyReaction(ctx('alice'), react(BOB_MSG, 'bob', '👍', T0 + 2), T0);
    store.setReply('alice', ALICE_MSG, { id: BOB_MSG, from: 'bob', snip: 'from bob' });
    assert.equal(applyDelete(ctx('bob'), del(BOB_MSG, T0 + 3)).ok, true);
    const row = store.line('bob', 'bob', BOB_MSG);
    assert.equal(row?.text, '');
    assert.equal(row?.deleted_at, T0 + 3);
    assert.deepEqual(store.edits('bob', BOB_MSG), []);
    assert.deepEqual(store.reactions('bob', BOB_MSG), []);
    assert.equal(store.line('bob', 'alice', ALICE_MSG)?.reply_snip, '');
  });

  it('one reaction per person: a newer one replaces it, an older one changes nothing, null removes it', () => {
    applyReaction(ctx('bob'), react(ALICE_MSG, 'alice', '👍', T0 + 2), T0);
    applyReaction(ctx('bob'), react(ALICE_MSG, 'alice', '😂', T0 + 1), T0);
    assert.deepEqual(
      store.reactions('alice', ALICE_MSG).map((r) => r.emoji),
      ['👍'],
    );
    applyReaction(ctx('bob'), react(ALICE_MSG, 'alice', null, T0 + 3), T0);
    assert.deepEqual(store.reactions('alice', ALICE_MSG), []);
  });

  it('a reaction to an unknown id waits for a late original, then is dropped after 10 minutes', () => {
    const early = react('late-message-1', 'bob', '🎉', T0);
    const before = snapshot();
    assert.deepEqual(applyReaction(ctx('bob'), early, T0), { ok: false, reason: 'UNKNOWN_MESSAGE' });
    assert.deepEqual(snapshot(), before, 'nothing stored while it waits');
    assert.equal(pending.size(T0), 1);
    // The original arrives within the window: the reaction is there to apply.
    const taken = pending.take('bob', 'bob', 'late-message-1', T0 + PENDING_REACTION_MS);
    assert.deepEqual(
      taken.map((p) => p.reaction.emoji),
      ['🎉'],
    );
    // Too late: dropped.
    applyReaction(ctx('bob'), react('late-message-2', 'bob', '🎉', T0), T0);
    assert.deepEqual(pending.take('bob', 'bob', 'late-message-2', T0 + PENDING_REACTION_MS + 1), []);
    assert.equal(pending.size(T0 + PENDING_REACTION_MS + 1), 0);
  });

  it('at most 100 reactions wait at once; the oldest go first', () => {
    for (let i = 0; i < MAX_PENDING_REACTIONS + 20; i++) {
      applyReaction(ctx('bob'), react(`missing-${String(i).padStart(4, '0')}`, 'bob', '👍', T0 + i), T0 + i);
    }
    const now = T0 + MAX_PENDING_REACTIONS + 20;
    assert.equal(pending.size(now), MAX_PENDING_REACTIONS);
    assert.deepEqual(pending.take('bob', 'bob', 'missing-0000', now), []);
    assert.equal(
      pending.take('bob', 'bob', `missing-${String(MAX_PENDING_REACTIONS + 19).padStart(4, '0')}`, now).length,
      1,
    );
  });
});
