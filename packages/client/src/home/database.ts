/**
 * The client's local database: its schema (numbered migrations) and the small synchronous SQL
 * surface the SDK uses, `HomeDatabase`. It holds private keys and message history, so it never
 * leaves the device; docs/threat-model.md says what a stolen home reveals.
 *
 * Two backends implement it: better-sqlite3 on a file in the home directory (Node,
 * `better-sqlite3-home-database.ts`) and SQLite compiled to WebAssembly whose image is saved
 * to IndexedDB (browsers, `wasm-home-database.ts`). The interface is the subset of
 * better-sqlite3's API the SDK calls, so the Node backend is better-sqlite3 itself, unwrapped.
 */

/** File name of the local database inside the home directory (Node backend). */
export const HOME_DB_FILE = 'parley-client.sqlite';

/** A value bound to or read from SQL: what SQLite stores (BLOBs as bytes). */
export type SqlValue = number | bigint | string | Uint8Array | null;

/** A prepared statement (better-sqlite3's semantics: positional `?` parameters). */
export interface HomeStatement {
  /** Runs a write; `changes` is the number of rows it inserted, updated or deleted. */
  run(...params: unknown[]): { changes: number };
  /** The first row (an object by column name, or the first column after `pluck()`), or undefined. */
  get(...params: unknown[]): unknown;
  /** Every row. */
  all(...params: unknown[]): unknown[];
  /** Makes `get`/`all` return the first column's value instead of row objects. */
  pluck(): HomeStatement;
}

// biome-ignore lint/suspicious/noExplicitAny: mirrors better-sqlite3's typing so its Database is a HomeDatabase as is.
type AnyArgs = (...params: any[]) => unknown;
type ArgsOf<F extends AnyArgs> = F extends (...args: infer A) => unknown ? A : never;

/** A function run inside one transaction (better-sqlite3's `db.transaction(fn)`). */
export interface HomeTransaction<F extends AnyArgs> {
  (...params: ArgsOf<F>): ReturnType<F>;
  /** Runs it as `BEGIN IMMEDIATE` (takes the write lock at once). */
  immediate(...params: ArgsOf<F>): ReturnType<F>;
}

/** The local database as the SDK uses it: synchronous, one writer, transactions by wrapping a function. */
export interface HomeDatabase {
  prepare(sql: string): HomeStatement;
  exec(sql: string): unknown;
  transaction<F extends AnyArgs>(fn: F): HomeTransaction<F>;
  close(): unknown;
}

/**
 * Resolves once every write is durable. The better-sqlite3 backend commits the writes it has
 * grouped (`synchronous = FULL`: on disk when the commit returns); the WebAssembly backend saves its
 * image to IndexedDB after the fact, so the relay link waits on this before anything leaves the
 * device (an acknowledgement, or a message encrypted with a ratchet step not yet saved).
 */
export function whenDurable(db: HomeDatabase): Promise<void> | undefined {
  return (db as Partial<DurableHomeDatabase>).durable?.();
}

/** A backend that persists after the fact (see `whenDurable`). */
export interface DurableHomeDatabase extends HomeDatabase {
  /** Resolves once every write is durable; undefined when it already is (nothing to wait for). */
  durable(): Promise<void> | undefined;
  /**
   * Runs `fn` once every write made so far is committed: now when none waits. A backend that
   * groups writes into one commit has it (better-sqlite3), so that events are emitted only
   * after what they report is stored.
   */
  afterCommit?(fn: () => void): void;
}

/** Runs `fn` once `db` has committed every write made so far (at once for a backend that does not group writes). */
export function afterCommit(db: HomeDatabase, fn: () => void): void {
  const grouped = (db as Partial<DurableHomeDatabase>).afterCommit;
  if (grouped === undefined) fn();
  else grouped.call(db, fn);
}

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
  {
    // Where the user has read each conversation up to (unread counts), by message row.
    version: 3,
    up: `
      CREATE TABLE conversation_reads (peer TEXT PRIMARY KEY, read_row INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    // When this device last replaced its own leaf keys in each group (periodic MLS updates).
    version: 4,
    up: `
      ALTER TABLE groups ADD COLUMN key_updated_at INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    // Each group's ratchet tree beside its record, rewritten only when its tree hash changes
    // (a version-1 record, from before, still carries its own tree until it is next saved).
    version: 5,
    up: `
      ALTER TABLE groups ADD COLUMN tree BLOB;
      ALTER TABLE groups ADD COLUMN tree_hash BLOB;
    `,
  },
  {
    // The newest device-list version (and its hash) each account's own messages announced and
    // this device has not yet seen a verified list for (docs/protocol.md §10, "Never go back").
    version: 6,
    up: `
      CREATE TABLE device_list_claims (name TEXT PRIMARY KEY, version INTEGER NOT NULL, hash BLOB NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    // Conversations (docs/protocol.md §12.1): a line's kind ('text', or 'unsupported' for content
    // of a later version), the message a reply quotes, when it was last edited and when deleted
    // for everyone (a tombstone: its text is emptied); each edit's earlier text; one reaction
    // per account per message.
    version: 7,
    up: `
      ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
      ALTER TABLE messages ADD COLUMN reply_id TEXT;
      ALTER TABLE messages ADD COLUMN reply_from TEXT;
      ALTER TABLE messages ADD COLUMN reply_snip TEXT;
      ALTER TABLE messages ADD COLUMN edited_at INTEGER;
      ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
      CREATE TABLE message_edits (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        sender TEXT NOT NULL,
        message_id TEXT NOT NULL,
        edit_id TEXT NOT NULL,
        previous_text TEXT NOT NULL,
        edited_at INTEGER NOT NULL,
        UNIQUE (sender, edit_id)
      );
      CREATE INDEX message_edits_by_message ON message_edits (sender, message_id, seq);
      CREATE TABLE reactions (
        msg_sender TEXT NOT NULL,
        msg_id TEXT NOT NULL,
        reactor TEXT NOT NULL,
        emoji TEXT NOT NULL,
        reacted_at INTEGER NOT NULL,
        PRIMARY KEY (msg_sender, msg_id, reactor)
      ) WITHOUT ROWID;
    `,
  },
  {
    // Full-text search of the history (SQLite FTS5, in both backends): an index over the text of
    // the `messages` table (external content, so the text is stored once), kept in step by
    // triggers on every insert, delete and move, and filled here from the history there is.
    // System lines (key changes, timer changes) are not indexed. `secure-delete` makes a delete
    // remove the words from the index at once instead of leaving them until a merge, so a
    // deleted or expired message leaves no searchable trace in the home. Also each line's expiry
    // time, for disappearing messages.
    version: 8,
    up: `
      CREATE VIRTUAL TABLE message_search USING fts5(
        text, content = 'messages', content_rowid = 'row', tokenize = 'unicode61 remove_diacritics 2'
      );
      INSERT INTO message_search (message_search, rank) VALUES ('secure-delete', 1);
      CREATE TRIGGER message_search_insert AFTER INSERT ON messages WHEN new.direction <> 'system' BEGIN
        INSERT INTO message_search (rowid, text) VALUES (new.row, new.text);
      END;
      CREATE TRIGGER message_search_delete AFTER DELETE ON messages WHEN old.direction <> 'system' BEGIN
        INSERT INTO message_search (message_search, rowid, text) VALUES ('delete', old.row, old.text);
      END;
      CREATE TRIGGER message_search_update AFTER UPDATE OF row, text, direction ON messages BEGIN
        INSERT INTO message_search (message_search, rowid, text)
          SELECT 'delete', old.row, old.text WHERE old.direction <> 'system';
        INSERT INTO message_search (rowid, text) SELECT new.row, new.text WHERE new.direction <> 'system';
      END;
      INSERT INTO message_search (rowid, text) SELECT row, text FROM messages WHERE direction <> 'system';
      -- Disappearing messages: when each line is deleted (ms, this device's clock); NULL: kept.
      ALTER TABLE messages ADD COLUMN expires_at INTEGER;
      CREATE INDEX messages_by_expiry ON messages (expires_at) WHERE expires_at IS NOT NULL;
    `,
  },
  {
    // The person's choices per conversation (archived, muted, pinned) and the contacts they
    // blocked (their deliveries are dropped on receipt; nothing, receipts included, goes to them).
    version: 9,
    up: `
      CREATE TABLE conversation_settings (
        peer TEXT PRIMARY KEY,
        archived INTEGER NOT NULL DEFAULT 0,
        muted INTEGER NOT NULL DEFAULT 0,
        pinned INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE TABLE blocked (name TEXT PRIMARY KEY, blocked_at INTEGER NOT NULL) WITHOUT ROWID;
    `,
  },
  {
    // Attachment uploads in progress, so a client killed mid-upload resumes it (attachments/
    // upload-state.ts; docs/protocol.md §16.5).
    version: 10,
    up: `
      CREATE TABLE pending_uploads (
        resume_key TEXT PRIMARY KEY,
        slot TEXT NOT NULL,
        key BLOB NOT NULL,
        nonce_prefix BLOB NOT NULL,
        blob_size INTEGER NOT NULL,
        acked INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    // Key transparency (docs/protocol.md §20): the directory keys pinned (at
    // registration, or on first connect for an older account: `tofu` = 1), the signed heads held
    // by epoch, the last self-check of our own entry, evidence of a misbehaving directory (both
    // signed heads of a split view), and the accounts whose sends stop until it is resolved.
    version: 11,
    up: `
      CREATE TABLE kt_pins (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        directory_key BLOB NOT NULL,
        vrf_key BLOB NOT NULL,
        pinned_at INTEGER NOT NULL,
        tofu INTEGER NOT NULL,
        witness_keys TEXT NOT NULL DEFAULT '',
        require_witnesses INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE kt_heads (epoch INTEGER PRIMARY KEY, head BLOB NOT NULL, received_at INTEGER NOT NULL);
      CREATE TABLE kt_self_check (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        checked_at INTEGER NOT NULL,
        epoch INTEGER NOT NULL,
        version INTEGER NOT NULL,
        list_version INTEGER NOT NULL,
        ok INTEGER NOT NULL
      );
      CREATE TABLE kt_evidence (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        at INTEGER NOT NULL,
        name TEXT,
        detail TEXT NOT NULL,
        head_a BLOB,
        head_b BLOB
      );
      CREATE TABLE kt_blocked (name TEXT PRIMARY KEY, reason TEXT NOT NULL) WITHOUT ROWID;
    `,
  },
];

/** Creates the tables, or brings an older home up to date, in one transaction per migration. */
export function migrateHomeDatabase(db: HomeDatabase): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)');
  const done = new Set(db.prepare('SELECT version FROM schema_migrations').pluck().all() as number[]);
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.up);
      db.prepare('INSERT INTO schema_migrations (version) VALUES (?)').run(m.version);
    }).immediate();
  }
}

/** A `Uint8Array` view of a BLOB column value (better-sqlite3 returns a Buffer, a subclass). */
export function blob(value: unknown): Uint8Array {
  const b = value as Uint8Array;
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
