/**
 * Local storage for groups: each group's MLS state record, the accounts that announced they
 * are leaving, a commit waiting for the server's answer (so a crash between submitting and
 * adopting it is recovered by resubmitting the same message id), the group outbox, and this
 * device's KeyPackage private keys.
 */
import { constantTimeEqual } from '@parley/protocol';
import { blob, type HomeDatabase } from '../home/database.ts';
import { statement, valueStatement } from '../home/statement.ts';

/** A group as stored. */
export interface StoredGroup {
  readonly id: string;
  readonly record: Uint8Array;
  /** The ratchet tree's record, for a record stored without it (undefined for older records). */
  readonly tree: Uint8Array | undefined;
  readonly epoch: number;
  /** `active`; `removed` once a commit removed this device; `left` after this account left. */
  readonly status: 'active' | 'removed' | 'left';
  readonly departed: readonly string[];
  /** When this device last replaced its leaf keys here (join, creation or a self-update). */
  readonly keyUpdatedAt: number;
}

/** A group's ratchet tree to save beside its record: its hash, and its encoding made on demand. */
export interface TreeToSave {
  readonly hash: Uint8Array;
  encode(): Uint8Array;
}

/** A submitted commit whose answer has not been applied yet. */
export interface PendingCommitRow {
  readonly groupId: string;
  readonly messageId: string;
  /** The `group-commit` request arguments, JSON. */
  readonly request: string;
  /** The group record to adopt once the server accepted the commit. */
  readonly record: Uint8Array;
}

/** A group message encrypted but not yet accepted by the server. */
export interface GroupOutboxRow {
  readonly seq: number;
  readonly groupId: string;
  readonly messageId: string;
  readonly body: Uint8Array;
}

/** A `groups` row. */
interface GroupRow {
  readonly id: string;
  readonly record: Uint8Array;
  readonly epoch: number;
  readonly status: StoredGroup['status'];
  /** JSON array of account names. */
  readonly departed: string;
  readonly key_updated_at: number;
  readonly tree: Uint8Array | null;
  readonly tree_hash: Uint8Array | null;
}

/** A `group_pending` row. */
interface GroupPendingRow {
  readonly group_id: string;
  readonly message_id: string;
  readonly request: string;
  readonly record: Uint8Array;
}

/** A `group_outbox` row. */
interface GroupOutboxTableRow {
  readonly seq: number;
  readonly group_id: string;
  readonly message_id: string;
  readonly body: Uint8Array;
}

/** A `key_packages` row. */
interface KeyPackageRow {
  readonly ref: string;
  readonly public: Uint8Array;
  readonly private: Uint8Array;
  readonly last_resort: number;
  readonly created_at: number;
}

/** The group tables' operations. */
export interface GroupStore {
  get(id: string): StoredGroup | undefined;
  list(): StoredGroup[];
  /** Saves a record; the tree is encoded and written only if its hash differs from the stored one. */
  save(id: string, record: Uint8Array, tree: TreeToSave, epoch: number, status?: StoredGroup['status']): void;
  setStatus(id: string, status: StoredGroup['status']): void;
  addDeparted(id: string, account: string): void;
  markKeyUpdated(id: string, at: number): void;
  pending(): PendingCommitRow[];
  setPending(row: PendingCommitRow): void;
  clearPending(groupId: string): void;
  queueOutbox(groupId: string, messageId: string, body: Uint8Array): void;
  outbox(): GroupOutboxRow[];
  dropOutbox(seq: number): void;
  saveKeyPackage(
    ref: string,
    publicBytes: Uint8Array,
    privateBytes: Uint8Array,
    lastResort: boolean,
    now: number,
  ): void;
  keyPackage(ref: string): { publicBytes: Uint8Array; privateBytes: Uint8Array; lastResort: boolean } | undefined;
  dropKeyPackage(ref: string): void;
  /** The reusable last-resort KeyPackage (public half), if one was made. */
  lastResort(): Uint8Array | undefined;
  /** Runs `fn` in one SQLite transaction. */
  transaction<T>(fn: () => T): T;
}

/** Creates the group store over the home database (tables from migration 2). */
export function createGroupStore(db: HomeDatabase): GroupStore {
  const q = {
    get: statement<[string], GroupRow>(db, 'SELECT * FROM groups WHERE id = ?'),
    list: statement<[], GroupRow>(db, 'SELECT * FROM groups ORDER BY id'),
    save: statement<[string, Uint8Array, number, string]>(
      db,
      `INSERT INTO groups (id, record, epoch, status) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET record = excluded.record, epoch = excluded.epoch, status = excluded.status`,
    ),
    treeHash: valueStatement<[string], Uint8Array | null>(db, 'SELECT tree_hash FROM groups WHERE id = ?'),
    saveTree: statement<[Uint8Array, Uint8Array, string]>(db, 'UPDATE groups SET tree = ?, tree_hash = ? WHERE id = ?'),
    setStatus: statement<[string, string]>(db, 'UPDATE groups SET status = ? WHERE id = ?'),
    setDeparted: statement<[string, string]>(db, 'UPDATE groups SET departed = ? WHERE id = ?'),
    markKeyUpdated: statement<[number, string]>(db, 'UPDATE groups SET key_updated_at = ? WHERE id = ?'),
    pending: statement<[], GroupPendingRow>(db, 'SELECT * FROM group_pending'),
    setPending: statement<[string, string, string, Uint8Array]>(
      db,
      'INSERT OR REPLACE INTO group_pending (group_id, message_id, request, record) VALUES (?, ?, ?, ?)',
    ),
    clearPending: statement<[string]>(db, 'DELETE FROM group_pending WHERE group_id = ?'),
    queueOutbox: statement<[string, string, Uint8Array]>(
      db,
      'INSERT INTO group_outbox (group_id, message_id, body) VALUES (?, ?, ?)',
    ),
    outbox: statement<[], GroupOutboxTableRow>(db, 'SELECT * FROM group_outbox ORDER BY seq'),
    dropOutbox: statement<[number]>(db, 'DELETE FROM group_outbox WHERE seq = ?'),
    saveKeyPackage: statement<[string, Uint8Array, Uint8Array, number, number]>(
      db,
      'INSERT INTO key_packages (ref, public, private, last_resort, created_at) VALUES (?, ?, ?, ?, ?)',
    ),
    keyPackage: statement<[string], KeyPackageRow>(db, 'SELECT * FROM key_packages WHERE ref = ?'),
    dropKeyPackage: statement<[string]>(db, 'DELETE FROM key_packages WHERE ref = ? AND last_resort = 0'),
    lastResort: valueStatement<[], Uint8Array>(
      db,
      'SELECT public FROM key_packages WHERE last_resort = 1 ORDER BY created_at DESC LIMIT 1',
    ),
  };
  const toGroup = (r: GroupRow): StoredGroup => ({
    id: r.id,
    record: blob(r.record),
    tree: r.tree === null ? undefined : blob(r.tree),
    epoch: r.epoch,
    status: r.status,
    departed: JSON.parse(r.departed) as string[],
    keyUpdatedAt: r.key_updated_at,
  });
  return {
    get(id) {
      const r = q.get.get(id);
      return r === undefined ? undefined : toGroup(r);
    },
    list: () => q.list.all().map(toGroup),
    save: db.transaction((id: string, record: Uint8Array, tree: TreeToSave, epoch: number, status = 'active') => {
      q.save.run(id, record, epoch, status);
      const stored = q.treeHash.get(id);
      if (stored === null || stored === undefined || !constantTimeEqual(blob(stored), tree.hash)) {
        q.saveTree.run(tree.encode(), tree.hash, id);
      }
    }),
    setStatus(id, status) {
      q.setStatus.run(status, id);
    },
    markKeyUpdated(id, at) {
      q.markKeyUpdated.run(at, id);
    },
    addDeparted(id, account) {
      const g = this.get(id);
      if (g === undefined || g.departed.includes(account)) return;
      q.setDeparted.run(JSON.stringify([...g.departed, account]), id);
    },
    pending: () =>
      q.pending.all().map((r) => ({
        groupId: r.group_id,
        messageId: r.message_id,
        request: r.request,
        record: blob(r.record),
      })),
    setPending(row) {
      q.setPending.run(row.groupId, row.messageId, row.request, row.record);
    },
    clearPending(groupId) {
      q.clearPending.run(groupId);
    },
    queueOutbox(groupId, messageId, body) {
      q.queueOutbox.run(groupId, messageId, body);
    },
    outbox: () =>
      q.outbox.all().map((r) => ({
        seq: r.seq,
        groupId: r.group_id,
        messageId: r.message_id,
        body: blob(r.body),
      })),
    dropOutbox(seq) {
      q.dropOutbox.run(seq);
    },
    saveKeyPackage(ref, publicBytes, privateBytes, lastResort, now) {
      q.saveKeyPackage.run(ref, publicBytes, privateBytes, lastResort ? 1 : 0, now);
    },
    keyPackage(ref) {
      const r = q.keyPackage.get(ref);
      if (r === undefined) return undefined;
      return { publicBytes: blob(r.public), privateBytes: blob(r.private), lastResort: r.last_resort === 1 };
    },
    dropKeyPackage(ref) {
      q.dropKeyPackage.run(ref);
    },
    lastResort() {
      const r = q.lastResort.get();
      return r === undefined ? undefined : blob(r);
    },
    transaction: (fn) => db.transaction(fn)(),
  };
}
