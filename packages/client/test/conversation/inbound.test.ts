/**
 * The inbound side of the conversation module (src/conversation/conversation.ts) on a migrated
 * home: a reaction that arrives before its message is applied when the message comes (within
 * the waiting time), content of a later version is kept as an `unsupported` line, and each
 * refusal is one `content-rejected` event naming only its reason.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { ReactionContent } from '../../src/content.ts';
import { createConversations } from '../../src/conversation/conversation.ts';
import { createConversationStore } from '../../src/conversation/conversation-store.ts';
import { PENDING_REACTION_MS } from '../../src/conversation/pending-reactions.ts';
import { createDirectStore } from '../../src/direct/store.ts';
import { type ClientEvent, createEventHub, storedMessageFromRow } from '../../src/events.ts';
import { type HomeDatabase, migrateHomeDatabase } from '../../src/home/database.ts';

const T0 = 1_800_000_000_000;

function setup() {
  const db = new Database(':memory:') as unknown as HomeDatabase;
  migrateHomeDatabase(db);
  const direct = createDirectStore(db);
  const events = createEventHub();
  const seen: ClientEvent[] = [];
  const sub = events.subscribe();
  void (async () => {
    for await (const e of sub) seen.push(e);
  })();
  let now = T0;
  const sent: unknown[] = [];
  const conv = createConversations({
    store: createConversationStore(db),
    events,
    clock: () => now,
    newId: () => `id-${Math.random().toString(36).slice(2, 12)}`,
    me: () => 'alice',
    historyRows: (peer, limit) => direct.history(peer, limit),
    transport: {
      async send(_peer, content) {
        sent.push(content);
      },
    },
  });
  /** Stores bob's message `id` as the inbox does, then tells the module. */
  const arrive = (id: string, text: string, unsupported = false) => {
    direct.insertMessage({
      id,
      peer: 'bob',
      direction: 'in',
      sender: 'bob',
      senderDevice: 1,
      text,
      sentAt: now,
      receivedAt: now,
      status: 'received',
    });
    conv.lineStored('bob', 'bob', id, { unsupported });
  };
  const tick = () => new Promise((r) => setImmediate(r));
  return { conv, seen, sent, arrive, tick, advance: (ms: number) => (now += ms), direct };
}

const reaction = (mid: string, emoji: string | null, ts = T0): ReactionContent => ({
  v: 1,
  id: `r-${mid}-${ts}`,
  ts,
  t: 'reaction',
  mid,
  mfrom: 'bob',
  emoji,
});

describe('conversation module, inbound', () => {
  it('applies a reaction that arrived before its message once the message comes', async () => {
    const { conv, seen, arrive, tick } = setup();
    conv.apply('bob', 'bob', { kind: 'reaction', content: reaction('late-original', '🎉') });
    await tick();
    assert.deepEqual(
      seen.map((e) => (e.type === 'content-rejected' ? e.reason : e.type)),
      ['UNKNOWN_MESSAGE'],
    );
    arrive('late-original', 'here I am');
    await tick();
    const r = seen.find((e) => e.type === 'reaction');
    assert.ok(r?.type === 'reaction');
    assert.deepEqual(r.reactions, [{ emoji: '🎉', count: 1, by: ['bob'] }]);
    assert.deepEqual(conv.history('bob', 10)[0]?.reactions, [{ emoji: '🎉', count: 1, by: ['bob'] }]);
  });

  it('drops a waiting reaction whose message comes more than 10 minutes later', async () => {
    const { conv, arrive, advance, tick, seen } = setup();
    conv.apply('bob', 'bob', { kind: 'reaction', content: reaction('very-late-original', '🎉') });
    advance(PENDING_REACTION_MS + 1);
    arrive('very-late-original', 'too late for the party');
    await tick();
    assert.deepEqual(conv.history('bob', 10)[0]?.reactions, []);
    assert.equal(
      seen.some((e) => e.type === 'reaction'),
      false,
    );
  });

  it('keeps content of a later version as an unsupported line', () => {
    const { conv, arrive, direct } = setup();
    arrive('from-the-future', 'This message needs a newer version of Parley', true);
    const row = direct.message('bob', 'from-the-future');
    assert.ok(row !== undefined);
    assert.equal(storedMessageFromRow(row).kind, 'unsupported');
    // Nothing to react to, edit or delete.
    assert.equal(conv.history('bob', 1)[0]?.kind, 'unsupported');
  });

  it('reports a decoder refusal by reason and field only', async () => {
    const { conv, seen, tick } = setup();
    conv.rejected('bob', { reason: 'BAD_FIELD', field: 'emoji' });
    await tick();
    assert.deepEqual(seen, [
      {
        type: 'content-rejected',
        peer: undefined,
        from: 'bob',
        content: 'content',
        reason: 'BAD_FIELD',
        field: 'emoji',
      },
    ]);
  });

  it('our own change is refused before anything is sent', async () => {
    const { conv, arrive, sent } = setup();
    arrive('bobs-message-1', 'hello');
    await assert.rejects(conv.edit('bob', 'bobs-message-1', 'not mine'), /only the sender/);
    await assert.rejects(conv.react('bob', 'bobs-message-1', 'two words'), /one emoji/);
    await assert.rejects(conv.edit('bob', 'bobs-message-1', 'x'.repeat(16 * 1024 + 1)), /limited/);
    assert.deepEqual(sent, []);
  });
});
