/**
 * The SQLite implementation of `Storage` (better-sqlite3, WAL mode). better-sqlite3 is
 * synchronous, so each method is one transaction that no other request can interleave with:
 * that is what makes one-time prekey consumption atomic within a node.
 *
 * This module runs on the storage thread (`sqlite-worker.ts`); the server's event loop reaches
 * it through `openSqliteStorage` (`sqlite-worker-storage.ts`), so statements and commits (with
 * their fsync) never block the loop.
 */
// Node's own helpers rather than @parley/protocol's: the storage thread starts faster without
// loading the whole protocol package.
import { timingSafeEqual } from 'node:crypto';
import Database from 'better-sqlite3';
import { heldToShare, overallReason, queueCapReason } from './queue-caps.ts';
import {
  accountRow,
  bytes,
  DEVICE_TABLES,
  deviceRow,
  linkChannelRow,
  queuedMessageRow,
  queueRecordsFromRows,
  type Row,
} from './rows.ts';
import { createSqliteGroupStore } from './sqlite-group-store.ts';
import { createSqliteKtStore } from './sqlite-kt-store.ts';
import type {
  DeviceAddress,
  LinkChannelOpening,
  LinkChannelRecord,
  NewAccount,
  OutgoingMessage,
  PreKeyCounts,
  QueueCaps,
  QueueFullReason,
  SendBatchItem,
  SendOutcome,
  SignedKeyRow,
  Storage,
  TakenBundle,
} from './storage.ts';

/**
 * Opens the database file with the server's settings: WAL, `synchronous` FULL (a commit is on
 * disk when it returns) or NORMAL, foreign keys, and no automatic checkpoints (a separate
 * thread runs them, see `sqlite-worker-storage.ts`).
 */
export function openSqliteDatabase(file: string, sync: 'full' | 'normal'): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${sync === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // Checkpoints move the WAL into the database file; done inside a commit they would stall the
  // writer for the checkpoint's writes and fsync, so the serving connection never checkpoints.
  db.pragma('wal_autocheckpoint = 0');
  return db;
}

/**
 * The store over an open, migrated database. Synchronous underneath: call it from one thread
 * only (the storage thread), which is then the database's only writer.
 */
export function createSqliteStorage(db: Database.Database): Storage {
  const q = {
    insertAccount: db.prepare(
      'INSERT INTO accounts (name, account_key, device_list, list_version, created_at, skeleton) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    nameExists: db.prepare('SELECT 1 FROM accounts WHERE name = ?'),
    ktPending: db.prepare('INSERT INTO kt_pending (name) VALUES (?)'),
    insertDevice: db.prepare('INSERT INTO devices (account, id, identity) VALUES (?, ?, ?)'),
    useInvite: db.prepare('UPDATE invites SET used_by = ?, used_at = ? WHERE code_hash = ? AND used_by IS NULL'),
    getAccount: db.prepare('SELECT * FROM accounts WHERE name = ?'),
    listDevices: db.prepare('SELECT account, id, identity FROM devices WHERE account = ? ORDER BY id'),
    deviceSet: db.prepare('SELECT id, substr(identity, 1, 8) AS key FROM devices WHERE account = ? ORDER BY id'),
    insertInvite: db.prepare('INSERT INTO invites (code_hash, created_at) VALUES (?, ?)'),
    getAuthToken: db.prepare('SELECT auth_token_hash AS h FROM devices WHERE account = ? AND id = ?'),
    setAuthToken: db.prepare('UPDATE devices SET auth_token_hash = ? WHERE account = ? AND id = ?'),
    setList: db.prepare('UPDATE accounts SET device_list = ?, list_version = ? WHERE name = ? AND list_version = ?'),
    deleteDevice: db.prepare('DELETE FROM devices WHERE account = ? AND id = ?'),
    deleteDeviceRows: DEVICE_TABLES.map((t) => db.prepare(`DELETE FROM ${t} WHERE account = ? AND device = ?`)),
    upsertSigned: db.prepare(
      `INSERT INTO signed_prekeys (account, device, id, public_key, signature, created_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (account, device) DO UPDATE SET id = excluded.id, public_key = excluded.public_key,
         signature = excluded.signature, created_at = excluded.created_at`,
    ),
    insertOneTime: db.prepare(
      'INSERT OR REPLACE INTO one_time_prekeys (account, device, id, public_key) VALUES (?, ?, ?, ?)',
    ),
    insertKem: db.prepare(
      'INSERT OR REPLACE INTO kem_prekeys (account, device, id, public_key, signature, last_resort, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)',
    ),
    deleteLastResort: db.prepare('DELETE FROM kem_prekeys WHERE account = ? AND device = ? AND last_resort = 1'),
    insertLastResort: db.prepare(
      'INSERT OR REPLACE INTO kem_prekeys (account, device, id, public_key, signature, last_resort, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)',
    ),
    countOneTime: db.prepare('SELECT COUNT(*) AS n FROM one_time_prekeys WHERE account = ? AND device = ?'),
    countKem: db.prepare('SELECT COUNT(*) AS n FROM kem_prekeys WHERE account = ? AND device = ? AND last_resort = 0'),
    getSigned: db.prepare(
      'SELECT id, public_key, signature, created_at FROM signed_prekeys WHERE account = ? AND device = ?',
    ),
    // At random, not oldest first: a copy of the device's home taken earlier holds the oldest ones.
    takeOneTime: db.prepare(
      `DELETE FROM one_time_prekeys WHERE account = ? AND device = ? AND id =
         (SELECT id FROM one_time_prekeys WHERE account = ? AND device = ? ORDER BY random() LIMIT 1)
       RETURNING id, public_key`,
    ),
    takeKem: db.prepare(
      `DELETE FROM kem_prekeys WHERE account = ? AND device = ? AND last_resort = 0 AND id =
         (SELECT id FROM kem_prekeys WHERE account = ? AND device = ? AND last_resort = 0 ORDER BY random() LIMIT 1)
       RETURNING id, public_key, signature, created_at`,
    ),
    getLastResort: db.prepare(
      'SELECT id, public_key, signature, created_at FROM kem_prekeys WHERE account = ? AND device = ? AND last_resort = 1',
    ),
    logSend: db.prepare(
      'INSERT INTO send_log (sender, sender_device, message_id, server_time) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    depth: db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM queue WHERE account = ? AND device = ?'),
    senderDepth: db.prepare(
      'SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS b FROM queue WHERE account = ? AND device = ? AND sender = ?',
    ),
    enqueue: db.prepare(
      `INSERT INTO queue (account, device, sender, sender_device, message_id, kind, body, body_id, size, server_time, expires_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertBody: db.prepare('INSERT INTO message_bodies (body) VALUES (?)'),
    pending: db.prepare(
      `SELECT q.seq, q.sender, q.sender_device, q.message_id, q.kind, COALESCE(b.body, q.body) AS body, q.server_time
       FROM queue q LEFT JOIN message_bodies b ON b.id = q.body_id
       WHERE q.account = ? AND q.device = ? AND q.seq > ? AND q.expires_at > ? ORDER BY q.seq LIMIT ?`,
    ),
    ack: db.prepare('DELETE FROM queue WHERE account = ? AND device = ? AND seq = ? RETURNING size, body_id, sender'),
    dropBodyIfUnused: db.prepare(
      'DELETE FROM message_bodies WHERE id = ? AND NOT EXISTS (SELECT 1 FROM queue WHERE body_id = ?)',
    ),
    dropUnusedBodies: db.prepare(
      'DELETE FROM message_bodies WHERE NOT EXISTS (SELECT 1 FROM queue q WHERE q.body_id = message_bodies.id)',
    ),
    purgeQueue: db.prepare('DELETE FROM queue WHERE expires_at <= ?'),
    purgeGrants: db.prepare('DELETE FROM key_package_grants WHERE expires_at <= ?'),
    totalDepth: db.prepare('SELECT COUNT(*) FROM queue').pluck(),
    storedBytes: db
      .prepare(
        `SELECT (SELECT COALESCE(SUM(length(body)), 0) FROM queue)
              + (SELECT COALESCE(SUM(length(body)), 0) FROM message_bodies)`,
      )
      .pluck(),
    purgeSendLog: db.prepare('DELETE FROM send_log WHERE server_time < ?'),
    dropExpiredLink: db.prepare('DELETE FROM link_channels WHERE id = ? AND expires_at <= ?'),
    openLinks: db.prepare('SELECT COUNT(*) FROM link_channels WHERE expires_at > ?').pluck(),
    insertLink: db.prepare(
      'INSERT INTO link_channels (id, identity, name, mac, expires_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    getLink: db.prepare(
      'SELECT identity, name, mac, expires_at FROM link_channels WHERE id = ? AND expires_at > ? AND body IS NULL',
    ),
    answerLink: db.prepare('UPDATE link_channels SET body = ? WHERE id = ? AND expires_at > ? AND body IS NULL'),
    closeLink: db.prepare('DELETE FROM link_channels WHERE id = ?'),
    takeAnswers: db.prepare(
      'DELETE FROM link_channels WHERE id IN (SELECT value FROM json_each(?)) AND body IS NOT NULL RETURNING id, body',
    ),
    purgeLinks: db.prepare('DELETE FROM link_channels WHERE expires_at <= ?'),
    purgeGroups: db.prepare(
      'DELETE FROM groups WHERE NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = groups.group_id)',
    ),
  };

  const count = (stmt: Database.Statement, account: string, device: number): number =>
    (stmt.get(account, device) as { n: number }).n;
  const counts = (account: string, device: number): PreKeyCounts => ({
    oneTime: count(q.countOneTime, account, device),
    kem: count(q.countKem, account, device),
  });
  const signedRow = (r: Row): SignedKeyRow => ({
    id: r.id as number,
    publicKey: bytes(r.public_key),
    signature: bytes(r.signature),
    createdAt: r.created_at as number,
  });

  const rotateAuthToken = db.transaction(
    (account: string, device: number, presented: Uint8Array | undefined, next: Uint8Array) => {
      const row = q.getAuthToken.get(account, device) as { h: unknown } | undefined;
      if (row === undefined) return 'missing' as const;
      q.setAuthToken.run(next, account, device);
      if (row.h === null) return 'first' as const;
      const stored = bytes(row.h);
      return presented !== undefined && Buffer.from(stored).equals(Buffer.from(presented))
        ? ('match' as const)
        : ('mismatch' as const);
    },
  );

  const createAccount = db.transaction((a: NewAccount, inviteHash: Uint8Array | undefined, now: number) => {
    if (q.insertAccount.run(a.name, a.accountKey, a.deviceList, a.listVersion, a.createdAt, a.skeleton).changes === 0) {
      return q.nameExists.get(a.name) === undefined ? ('name-confusable' as const) : ('name-taken' as const);
    }
    if (inviteHash !== undefined && q.useInvite.run(a.name, now, inviteHash).changes === 0) {
      throw new BadInvite();
    }
    for (const d of a.devices) q.insertDevice.run(a.name, d.id, d.identity);
    q.ktPending.run(a.name);
    return 'created' as const;
  });

  const storePreKeys = db.transaction(
    (account: string, device: number, keys: Parameters<Storage['storePreKeys']>[2]): PreKeyCounts => {
      if (keys.signedPreKey) {
        const s = keys.signedPreKey;
        q.upsertSigned.run(account, device, s.id, s.publicKey, s.signature, s.createdAt);
      }
      for (const k of keys.oneTimePreKeys) q.insertOneTime.run(account, device, k.id, k.publicKey);
      for (const k of keys.kemPreKeys) q.insertKem.run(account, device, k.id, k.publicKey, k.signature, k.createdAt);
      if (keys.lastResortKemPreKey) {
        const k = keys.lastResortKemPreKey;
        q.deleteLastResort.run(account, device);
        q.insertLastResort.run(account, device, k.id, k.publicKey, k.signature, k.createdAt);
      }
      return counts(account, device);
    },
  );

  const takeBundle = db.transaction((account: string, device: number, spare: boolean): TakenBundle | undefined => {
    const signed = q.getSigned.get(account, device) as Row | undefined;
    if (signed === undefined) return undefined;
    const kem = spare ? undefined : (q.takeKem.get(account, device, account, device) as Row | undefined);
    const kemRow = kem ?? (q.getLastResort.get(account, device) as Row | undefined);
    if (kemRow === undefined) return undefined;
    const otp = spare ? undefined : (q.takeOneTime.get(account, device, account, device) as Row | undefined);
    return {
      signedPreKey: signedRow(signed),
      oneTimePreKey: otp && { id: otp.id as number, publicKey: bytes(otp.public_key) },
      kemPreKey: { ...signedRow(kemRow), lastResort: kem === undefined },
    };
  });

  // Queue depths (messages and body bytes), a hot-path read, answered from memory. This process
  // is the database's only writer (SQLite is the single-node store), so they stay exact: depths
  // change only through enqueue, group commits (both through insertQueued), acknowledge, purge and
  // device removal, which keep them up to date. (Device sets, the other hot read, are cached on
  // the event loop's side of the storage thread, sqlite-worker-storage.ts, where a hit also saves
  // the round trip.)
  const depths = new Map<string, QueueDepth>();
  const depthKey = (account: string, device: number) => `${account}\u0000${device}`;
  const depthOf = (account: string, device: number): QueueDepth => {
    const k = depthKey(account, device);
    let d = depths.get(k);
    if (d === undefined) {
      const r = q.depth.get(account, device) as { n: number; b: number };
      d = { messages: r.n, bytes: r.b, senders: new Map() };
      depths.set(k, d);
    }
    return d;
  };
  /** One sender's part of a device's queue, read once and then kept with the device's depth. */
  const senderDepthOf = (account: string, device: number, sender: string): SenderDepth => {
    const senders = depthOf(account, device).senders;
    let d = senders.get(sender);
    if (d === undefined) {
      const r = q.senderDepth.get(account, device, sender) as { n: number; b: number };
      d = { messages: r.n, bytes: r.b };
      senders.set(sender, d);
    }
    return d;
  };
  const atCap = (
    account: string,
    device: number,
    bytes: number,
    caps: QueueCaps,
    sender: string,
  ): QueueFullReason | undefined => {
    const share = heldToShare(sender, account, caps) ? senderDepthOf(account, device, sender) : undefined;
    return queueCapReason(depthOf(account, device), share, bytes, caps);
  };

  /** Stores a body once for several queue rows (inside the caller's transaction); its id. */
  const storeBody = (body: Uint8Array): number => Number(q.insertBody.run(body).lastInsertRowid);

  /**
   * Queues one message (inside the caller's transaction) and returns its seq. With `bodyId` the
   * row references a body stored by `storeBody` and holds no copy of it.
   */
  const insertQueued = (
    m: OutgoingMessage,
    from: { sender: string; senderDevice: number; messageId: string },
    now: number,
    expiresAt: number,
    bodyId?: number,
  ): number => {
    const size = m.body.byteLength;
    // Read before the insert, so the row is counted once.
    const share = senderDepthOf(m.account, m.device, from.sender);
    const r = q.enqueue.run(
      m.account,
      m.device,
      from.sender,
      from.senderDevice,
      from.messageId,
      m.kind,
      bodyId === undefined ? m.body : EMPTY,
      bodyId ?? null,
      size,
      now,
      expiresAt,
    );
    const d = depthOf(m.account, m.device);
    d.messages++;
    d.bytes += size;
    share.messages++;
    share.bytes += size;
    return Number(r.lastInsertRowid);
  };
  const logSend = (sender: string, senderDevice: number, messageId: string, now: number): boolean =>
    q.logSend.run(sender, senderDevice, messageId, now).changes > 0;

  const enqueue = db.transaction(
    (items: readonly SendBatchItem[], now: number, expiresAt: number, caps: QueueCaps): SendOutcome[] =>
      items.map((item): SendOutcome => {
        const full: DeviceAddress[] = [];
        const reasons: QueueFullReason[] = [];
        for (const m of item.messages) {
          const reason = atCap(m.account, m.device, m.body.byteLength, caps, item.sender);
          if (reason === undefined) continue;
          full.push({ account: m.account, device: m.device });
          reasons.push(reason);
        }
        if (full.length > 0) return { status: 'queue-full', devices: full, reason: overallReason(reasons) };
        if (!logSend(item.sender, item.senderDevice, item.messageId, now)) return { status: 'duplicate' };
        const first = item.messages[0];
        const bodyId =
          item.sharedBody === true && item.messages.length > 1 && first ? storeBody(first.body) : undefined;
        const seqs = item.messages.map((m) => ({
          account: m.account,
          device: m.device,
          seq: insertQueued(m, item, now, Math.min(expiresAt, item.expiresAt ?? expiresAt), bodyId),
        }));
        return { status: 'queued', seqs };
      }),
  );

  const updateDeviceList = db.transaction(
    (name: string, expected: number, list: Parameters<Storage['updateDeviceList']>[2]) => {
      if (q.setList.run(list.bytes, list.version, name, expected).changes === 0) return { status: 'stale' as const };
      q.ktPending.run(name);
      const before = (q.listDevices.all(name) as Row[]).map((r) => ({
        id: r.id as number,
        identity: bytes(r.identity),
      }));
      const removed: number[] = [];
      for (const old of before) {
        const next = list.devices.find((d) => d.id === old.id);
        // A device whose identity changed is a new device under an old id: its state goes too.
        if (
          next !== undefined &&
          next.identity.length === old.identity.length &&
          timingSafeEqual(next.identity, old.identity)
        )
          continue;
        q.deleteDevice.run(name, old.id);
        for (const del of q.deleteDeviceRows) del.run(name, old.id);
        depths.delete(depthKey(name, old.id));
        removed.push(old.id);
      }
      if (removed.length > 0) q.dropUnusedBodies.run();
      for (const d of list.devices) {
        if (!before.some((b) => b.id === d.id) || removed.includes(d.id)) q.insertDevice.run(name, d.id, d.identity);
      }
      return { status: 'updated' as const, removed };
    },
  );

  const deleteAccount = db.transaction((name: string, accountKey: Uint8Array): number[] | undefined => {
    const account = q.getAccount.get(name) as Row | undefined;
    if (account === undefined) return undefined;
    const key = bytes(account.account_key);
    if (key.length !== accountKey.length || !timingSafeEqual(key, accountKey)) return undefined;
    const ids = (q.listDevices.all(name) as Row[]).map((r) => r.id as number);
    for (const t of DEVICE_TABLES) db.prepare(`DELETE FROM ${t} WHERE account = ?`).run(name);
    db.prepare('DELETE FROM send_log WHERE sender = ?').run(name);
    db.prepare('DELETE FROM devices WHERE account = ?').run(name);
    db.prepare('DELETE FROM accounts WHERE name = ?').run(name);
    q.dropUnusedBodies.run();
    for (const id of ids) depths.delete(depthKey(name, id));
    return ids;
  });

  const acknowledge = db.transaction((acks: Parameters<Storage['acknowledge']>[0]) => {
    const bodies = new Set<number>();
    for (const a of acks) {
      let removed = 0;
      let bytes = 0;
      for (const seq of a.seqs) {
        const r = q.ack.get(a.account, a.device, seq) as
          | { size: number; body_id: number | null; sender: string }
          | undefined;
        if (r === undefined) continue;
        removed++;
        bytes += r.size;
        const share = depths.get(depthKey(a.account, a.device))?.senders.get(r.sender);
        if (share !== undefined) {
          share.messages--;
          share.bytes -= r.size;
        }
        if (r.body_id !== null) bodies.add(r.body_id);
      }
      if (removed > 0) {
        const d = depthOf(a.account, a.device);
        d.messages -= removed;
        d.bytes -= bytes;
      }
    }
    // A shared body goes with its last reference.
    for (const id of bodies) q.dropBodyIfUnused.run(id, id);
  });

  const openLink = db.transaction((id: string, c: LinkChannelRecord, now: number, max: number): LinkChannelOpening => {
    q.dropExpiredLink.run(id, now);
    if ((q.openLinks.get(now) as number) >= max) return 'full';
    return q.insertLink.run(id, c.identity, c.name, c.mac, c.expiresAt).changes > 0 ? 'opened' : 'in-use';
  });

  const groups = createSqliteGroupStore(db, { atCap, storeBody, insertQueued, logSend });

  return {
    ...groups,
    ...createSqliteKtStore(db),
    async createAccount(account, inviteHash) {
      try {
        return createAccount(account, inviteHash, account.createdAt);
      } catch (err) {
        if (err instanceof BadInvite) return 'bad-invite';
        throw err;
      }
    },
    async getAccount(name) {
      const r = q.getAccount.get(name) as Row | undefined;
      if (r === undefined) return undefined;
      return accountRow(r);
    },
    async listDevices(name) {
      return (q.listDevices.all(name) as Row[]).map(deviceRow);
    },
    async deviceSet(name) {
      return (q.deviceSet.all(name) as Row[]).map((r) => ({
        id: r.id as number,
        keyId: Buffer.from(bytes(r.key)).toString('base64url'),
      }));
    },
    async updateDeviceList(name, expectedVersion, list) {
      return updateDeviceList.immediate(name, expectedVersion, list);
    },
    async deleteAccount(name, accountKey) {
      return deleteAccount.immediate(name, accountKey);
    },
    async createInvite(codeHash, createdAt) {
      q.insertInvite.run(codeHash, createdAt);
    },
    async rotateAuthToken(account, device, presentedHash, nextHash) {
      return rotateAuthToken.immediate(account, device, presentedHash, nextHash);
    },
    async storePreKeys(account, device, keys) {
      return storePreKeys(account, device, keys);
    },
    async countPreKeys(account, device) {
      return counts(account, device);
    },
    async takeBundle(account, device, spare = false) {
      return takeBundle.immediate(account, device, spare);
    },
    async enqueue(items, now, expiresAt, caps, acks = []) {
      return db
        .transaction(() => {
          if (acks.length > 0) acknowledge(acks);
          return enqueue(items, now, expiresAt, caps);
        })
        .immediate();
    },
    async pending(account, device, afterSeq, limit, now) {
      return (q.pending.all(account, device, afterSeq, now, limit) as Row[]).map(queuedMessageRow);
    },
    async acknowledge(acks) {
      acknowledge(acks);
    },
    async purgeExpired(now, sendLogBefore) {
      const n = q.purgeQueue.run(now).changes;
      if (n > 0) depths.clear();
      q.dropUnusedBodies.run();
      q.purgeGrants.run(now);
      q.purgeSendLog.run(sendLogBefore);
      q.purgeGroups.run();
      q.purgeLinks.run(now);
      return n;
    },
    async openLinkChannel(id, channel, now, max) {
      return openLink(id, channel, now, max);
    },
    async getLinkChannel(id, now) {
      const r = q.getLink.get(id, now) as Row | undefined;
      return r === undefined ? undefined : linkChannelRow(r);
    },
    async answerLinkChannel(id, body, now) {
      return q.answerLink.run(body, id, now).changes > 0;
    },
    async closeLinkChannel(id) {
      q.closeLink.run(id);
    },
    async takeLinkAnswers(ids) {
      if (ids.length === 0) return [];
      return q.takeAnswers.all(JSON.stringify(ids)) as { id: string; body: string }[];
    },
    async queueRecords(account) {
      const inbound = db
        .prepare(
          'SELECT device, sender, sender_device, server_time, size AS bytes FROM queue WHERE account = ? ORDER BY seq',
        )
        .all(account) as Row[];
      const outbound = db
        .prepare(
          'SELECT account, device, sender_device, server_time, size AS bytes FROM queue WHERE sender = ? ORDER BY seq',
        )
        .all(account) as Row[];
      const log = db
        .prepare('SELECT sender_device, message_id, server_time FROM send_log WHERE sender = ? ORDER BY server_time')
        .all(account) as Row[];
      return queueRecordsFromRows(inbound, outbound, log);
    },
    async totalQueueDepth() {
      return q.totalDepth.get() as number;
    },
    async queueDepth(account, device) {
      return depthOf(account, device).messages;
    },
    async storedQueueBytes() {
      return q.storedBytes.get() as number;
    },
    async close() {
      // The last connection to close checkpoints the remaining WAL into the database file.
      db.close();
    },
  };
}

/** A queue's depth: messages, and the bytes of their bodies (updated in place: the send path is hot). */
interface QueueDepth {
  messages: number;
  bytes: number;
  /** The parts of senders read so far (`senderDepthOf`), by sending account. */
  readonly senders: Map<string, SenderDepth>;
}

/** One sender's part of a queue. */
interface SenderDepth {
  messages: number;
  bytes: number;
}

/** The body column of a row whose body is stored once in `message_bodies`. */
const EMPTY = new Uint8Array(0);

class BadInvite extends Error {}
