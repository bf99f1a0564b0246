/**
 * The expiry sweep (src/disappearing/disappearing.ts, docs/protocol.md §21.2) over a real home
 * schema: an expired line takes with it what conversations (§12.1) keep about it elsewhere, its
 * earlier texts (edits), its reactions and the snippet replies quote of it, as a delete for
 * everyone does; nothing of another line is touched.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { createConversationStore } from '../../src/conversation/conversation-store.ts';
import { createDisappearing } from '../../src/disappearing/disappearing.ts';
import { migrateHomeDatabase } from '../../src/home/database.ts';
import type { ProfileStore } from '../../src/home/profile.ts';

function line(db: Database.Database, id: string, sender: string, text: string, sentAt: number): void {
  db.prepare(
    `INSERT INTO messages (id, peer, direction, sender, sender_device, text, sent_at, received_at, status)
     VALUES (?, 'bob', ?, ?, 1, ?, ?, ?, 'received')`,
  ).run(id, sender === 'bob' ? 'in' : 'out', sender, text, sentAt, sentAt);
}

describe('disappearing sweep', () => {
  it("deletes an expired line's edits, reactions and quoted snippets, and nothing of other lines", () => {
    const db = new Database(':memory:');
    migrateHomeDatabase(db);
    const store = createConversationStore(db);
    // The profile store only holds timers, which the sweep does not read.
    const disappearing = createDisappearing(db, {} as ProfileStore);
    line(db, 'message-gone', 'bob', 'the first secret', 1000);
    line(db, 'message-kept', 'bob', 'a lasting thought', 1000);
    line(db, 'message-reply', 'alice', 'about that', 1500);
    store.setReply('alice', 'message-reply', { id: 'message-gone', from: 'bob', snip: 'the first secret' });
    for (const id of ['message-gone', 'message-kept']) {
      assert.ok(store.edit('bob', id, `edit-of-${id}`, `${id} edited`, 2000));
      store.react('bob', id, 'alice', '👍', 2000);
    }
    disappearing.start('bob', 'message-gone', 300, 10_000);

    assert.deepEqual(disappearing.sweep(10_000 + 300_000 - 1), [], 'not yet');
    assert.equal(store.edits('bob', 'message-gone').length, 1);
    assert.deepEqual(disappearing.sweep(10_000 + 300_000), [{ peer: 'bob', ids: ['message-gone'] }]);

    assert.equal(store.line('bob', 'bob', 'message-gone'), undefined);
    assert.deepEqual(store.edits('bob', 'message-gone'), [], 'its earlier text is gone');
    assert.deepEqual(store.reactions('bob', 'message-gone'), [], 'its reactions are gone');
    assert.equal(store.line('bob', 'alice', 'message-reply')?.reply_snip, '', 'the quote of it is blanked');
    // The other line keeps everything.
    assert.deepEqual(
      store.edits('bob', 'message-kept').map((e) => e.previous_text),
      ['a lasting thought'],
    );
    assert.equal(store.reactions('bob', 'message-kept').length, 1);
    const left = db.prepare('SELECT COUNT(*) FROM message_edits').pluck().get();
    assert.equal(left, 1);
    db.close();
  });
});
