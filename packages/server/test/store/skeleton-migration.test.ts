import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { migrateSqlite, SQLITE_MIGRATIONS } from '@parley/server';
import Database from 'better-sqlite3';

describe('migration 5: account name skeletons', () => {
  it('fills older accounts oldest first; a younger lookalike keeps none and does not block startup', () => {
    const db = new Database(':memory:');
    migrateSqlite(
      db,
      SQLITE_MIGRATIONS.filter((m) => m.version < 5),
    );
    const add = db.prepare(
      "INSERT INTO accounts (name, account_key, device_list, list_version, created_at) VALUES (?, x'00', x'00', 1, ?)",
    );
    add.run('alice', 1);
    add.run('a1ice', 2);
    add.run('bob', 3);
    assert.deepEqual(
      migrateSqlite(
        db,
        SQLITE_MIGRATIONS.filter((m) => m.version <= 5),
      ),
      [5],
    );
    const rows = db.prepare('SELECT name, skeleton FROM accounts ORDER BY created_at').all();
    assert.deepEqual(rows, [
      { name: 'alice', skeleton: 'allce' },
      { name: 'a1ice', skeleton: null },
      { name: 'bob', skeleton: 'bob' },
    ]);
    assert.throws(() =>
      db
        .prepare(
          "INSERT INTO accounts (name, account_key, device_list, list_version, created_at, skeleton) VALUES ('alice.', x'00', x'00', 1, 4, 'allce')",
        )
        .run(),
    );
    db.close();
  });
});
