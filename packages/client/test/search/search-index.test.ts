import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import Database from 'better-sqlite3';
import { isClientError } from '../../src/errors.ts';
import { openBetterSqlite3Home } from '../../src/home/better-sqlite3-home-database.ts';
import { type HomeDatabase, migrateHomeDatabase, whenDurable } from '../../src/home/database.ts';
import { createMemoryImageStore, openWasmHomeDatabase } from '../../src/home/wasm-home-database.ts';
import { createSearch, ftsQuery, parseSnippet } from '../../src/search/search.ts';

// The search index contract, run on both home backends: better-sqlite3 (Node) and SQLite in
// WebAssembly (browsers), so FTS5 and the triggers behave the same in each.
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const backends: [string, () => Promise<HomeDatabase>][] = [
  [
    'better-sqlite3',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'parley-search-'));
      dirs.push(dir);
      return openBetterSqlite3Home(dir);
    },
  ],
  ['sqlite-wasm', async () => openWasmHomeDatabase(await sqlite3InitModule(), createMemoryImageStore())],
];

let n = 0;
function insert(db: HomeDatabase, peer: string, text: string, direction = 'in'): string {
  const id = `message-${++n}`;
  db.prepare(
    `INSERT OR IGNORE INTO messages (id, peer, direction, sender, sender_device, text, sent_at, received_at, status)
     VALUES (?, ?, ?, ?, 1, ?, ?, NULL, 'received')`,
  ).run(id, peer, direction, direction === 'out' ? 'me' : peer, text, 1000 + n);
  return id;
}

const indexBytes = (db: HomeDatabase): Uint8Array[] =>
  db.prepare('SELECT block FROM message_search_data').pluck().all() as Uint8Array[];
const containsAscii = (blobs: Uint8Array[], word: string): boolean =>
  blobs.some((b) => Buffer.from(b).includes(Buffer.from(word)));

for (const [name, open] of backends) {
  describe(`message search (${name})`, () => {
    it('finds messages by words and word starts, newest first, with a highlighted snippet', async () => {
      const db = await open();
      const search = createSearch(db);
      const older = insert(db, 'bob', 'Lunch at the Café Müller tomorrow?');
      insert(db, 'carol', 'nothing to see here');
      const newer = insert(db, 'carol', 'the cafe was closed', 'out');
      const hits = search('cafe');
      assert.deepEqual(
        hits.map((h) => [h.id, h.peer, h.direction]),
        [
          [newer, 'carol', 'out'],
          [older, 'bob', 'in'],
        ],
      );
      const first = hits[1];
      assert.ok(first !== undefined);
      assert.equal(first.snippet, 'Lunch at the Café Müller tomorrow?');
      assert.deepEqual(
        first.highlights.map(([s, e]) => first.snippet.slice(s, e)),
        ['Café'],
      );
      // Every word must match; a word also matches as the start of a longer one.
      assert.deepEqual(
        search('caf müll').map((h) => h.id),
        [older],
      );
      assert.deepEqual(search('cafe closed', { peer: 'bob' }), []);
      assert.deepEqual(
        search('cafe', { peer: 'carol' }).map((h) => h.id),
        [newer],
      );
      assert.deepEqual(
        search('cafe', { limit: 1 }).map((h) => h.id),
        [newer],
      );
      db.close();
    });

    it('treats FTS5 operators and quotes as words, and refuses bad input with a typed error', async () => {
      const db = await open();
      const search = createSearch(db);
      const id = insert(db, 'bob', 'say "NEAR(x y)" OR else: *star* ^caret -minus {col}');
      for (const q of [
        '"',
        '""',
        'NEAR(',
        'OR',
        'AND NOT',
        '*',
        'a:b',
        '^caret',
        '-minus',
        '{col}',
        'x"y',
        ')',
        "'",
        '\u0000x',
      ]) {
        assert.doesNotThrow(() => search(q), `query ${JSON.stringify(q)}`);
      }
      assert.deepEqual(
        search('"NEAR(x').map((h) => h.id),
        [id],
      );
      assert.deepEqual(
        search('or else').map((h) => h.id),
        [id],
      );
      const refused = (f: () => unknown): boolean => {
        try {
          f();
          return false;
        } catch (err) {
          return isClientError(err) && err.code === 'INVALID_ARGUMENT';
        }
      };
      assert.ok(refused(() => search('   ')));
      assert.ok(refused(() => search('x'.repeat(501))));
      assert.ok(refused(() => search('x', { limit: 0 })));
      assert.ok(refused(() => search('x', { limit: 201 })));
      assert.ok(refused(() => search('x', { limit: 1.5 })));
      assert.ok(refused(() => search('x', { peer: 'bob', group: 'g' })));
      db.close();
    });

    it('follows deletes and moves, does not index system lines, and leaves no deleted word in the index', async () => {
      const db = await open();
      const search = createSearch(db);
      const id = insert(db, 'bob', 'zanzibar meeting');
      insert(db, 'bob', 'zanzibar key change note', 'system');
      assert.deepEqual(
        search('zanzibar').map((h) => h.id),
        [id],
      );
      // A held message moved to the end of its conversation keeps one index entry.
      db.prepare('UPDATE messages SET row = (SELECT MAX(row) + 1 FROM messages) WHERE id = ?').run(id);
      assert.deepEqual(
        search('zanzibar').map((h) => h.id),
        [id],
      );
      assert.ok(containsAscii(indexBytes(db), 'zanzibar'));
      const deleted = db.prepare('DELETE FROM messages WHERE id = ?').run(id);
      assert.equal(deleted.changes, 1, 'a delete counts its own row, not the index rows its trigger changed');
      assert.deepEqual(search('zanzibar'), []);
      // secure-delete: once committed, the word is gone from the index's pages, not only hidden
      // until a merge.
      await whenDurable(db);
      assert.equal(containsAscii(indexBytes(db), 'zanzibar'), false);
      db.close();
    });
  });
}

describe('search migration', () => {
  it('fills the index from the history already in a home', () => {
    const db = new Database(':memory:');
    migrateHomeDatabase(db);
    // A home from before migration 8: no index, messages already there.
    db.exec(`DROP TABLE message_search; DROP TRIGGER IF EXISTS message_search_insert;
             DROP TRIGGER IF EXISTS message_search_delete; DROP TRIGGER IF EXISTS message_search_update;
             DROP INDEX messages_by_expiry; ALTER TABLE messages DROP COLUMN expires_at;
             DELETE FROM schema_migrations WHERE version = 8;`);
    const id = insert(db, 'bob', 'an old message about kumquats');
    migrateHomeDatabase(db);
    assert.deepEqual(
      createSearch(db)('kumquat').map((h) => h.id),
      [id],
    );
    db.close();
  });
});

describe('search query building', () => {
  it('quotes every word as a prefix string and joins them with AND', () => {
    assert.equal(ftsQuery('  hello  "wor"ld '), '"hello"* AND """wor""ld"*');
    assert.equal(ftsQuery(' \n\t '), undefined);
    assert.deepEqual(parseSnippet('a \u0002b\u0003 c'), { snippet: 'a b c', highlights: [[2, 3]] });
  });
});
