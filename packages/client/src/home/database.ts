/**
 * The client's local database: one SQLite file in the home directory (mode 0600, in a 0700
 * directory), WAL mode, numbered migrations. It holds private keys and message history, so it
 * never leaves the device; docs/threat-model.md says what a stolen home reveals.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/** File name of the local database inside the home directory. */
export const HOME_DB_FILE = 'parley-client.sqlite';

const MIGRATIONS: readonly { version: number; up: string }[] = [
  {
    version: 1,
    up: `
      CREATE TABLE profile (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE contacts (
        name TEXT PRIMARY KEY,
        account_key BLOB NOT NULL,
        device_list BLOB NOT NULL,
        list_version INTEGER NOT NULL,
        verified INTEGER NOT NULL DEFAULT 0,
        pending_key BLOB,
        pending_list BLOB,
        changed_at INTEGER
      ) WITHOUT ROWID;
      CREATE TABLE remote_identities (address TEXT PRIMARY KEY, identity BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE sessions (address TEXT PRIMARY KEY, record BLOB NOT NULL) WITHOUT ROWID;
      CREATE TABLE signed_prekeys (id INTEGER PRIMARY KEY, record BLOB NOT NULL);
      CREATE TABLE one_time_prekeys (id INTEGER PRIMARY KEY, record BLOB NOT NULL);
      CREATE TABLE kem_prekeys (id INTEGER PRIMARY KEY, last_resort INTEGER NOT NULL, record BLOB NOT NULL);
      CREATE TABLE base_key_uses (key TEXT PRIMARY KEY) WITHOUT ROWID;
      CREATE TABLE messages (
        row INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL,
        peer TEXT NOT NULL,
        direction TEXT NOT NULL,
        sender TEXT NOT NULL,
        sender_device INTEGER NOT NULL,
        text TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        received_at INTEGER,
        status TEXT NOT NULL,
        UNIQUE (sender, id)
      );
      CREATE INDEX messages_by_peer ON messages (peer, row);
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        transport_id TEXT NOT NULL UNIQUE,
        content BLOB NOT NULL,
        payload TEXT,
        only_device INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE sent (
        transport_id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        recipient TEXT NOT NULL,
        identities TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE resends (transport_id TEXT NOT NULL, address TEXT NOT NULL, count INTEGER NOT NULL,
        PRIMARY KEY (transport_id, address)) WITHOUT ROWID;
      CREATE TABLE held (
        seq INTEGER PRIMARY KEY,
        sender TEXT NOT NULL,
        sender_device INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        body BLOB NOT NULL,
        server_time INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    up: `
      CREATE TABLE groups (
        id TEXT PRIMARY KEY,
        record BLOB NOT NULL,
        epoch INTEGER NOT NULL,
        status TEXT NOT NULL,
        departed TEXT NOT NULL DEFAULT '[]'
      ) WITHOUT ROWID;
      CREATE TABLE group_pending (
        group_id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        request TEXT NOT NULL,
        record BLOB NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE group_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        group_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        body BLOB NOT NULL
      );
      CREATE TABLE key_packages (
        ref TEXT PRIMARY KEY,
        public BLOB NOT NULL,
        private BLOB NOT NULL,
        last_resort INTEGER NOT NULL,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];

/** Opens (creating if needed) the home database and migrates it. */
export function openHomeDatabase(home: string): Database.Database {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, HOME_DB_FILE);
  const fresh = !existsSync(file);
  const db = new Database(file);
  if (fresh) chmodSync(file, 0o600);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  const done = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.up);
      db.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(m.version);
    }).immediate();
  }
  return db;
}

/** A `Uint8Array` view of a BLOB column value. */
export function blob(value: unknown): Uint8Array {
  const b = value as Buffer;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
