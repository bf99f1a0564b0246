/**
 * The SQLite half of MLS delivery: KeyPackages and group delivery records. Like the rest of the
 * SQLite store each method is one synchronous transaction, so a KeyPackage take and a commit's
 * epoch check-and-bump cannot interleave with anything else in this (single-writer) process.
 */
import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { planCommit, refuseCommit } from './group-commit-plan.ts';
import { bytes, type Row } from './rows.ts';
import type {
  CommitDelivery,
  DeviceAddress,
  GroupCommit,
  GroupCommitOutcome,
  GroupDirectory,
  KeyPackageDirectory,
  KeyPackageGrant,
  OutgoingMessage,
  QueueCaps,
  QueueFullReason,
  StoreKeyPackagesOutcome,
  TakenKeyPackage,
} from './storage.ts';

/** What the group store borrows from the message queue (so depth caches stay exact). */
export interface SqliteQueueAccess {
  /** Why one more message of `bytes` from `sender` would not fit the device's queue; undefined when it fits. */
  atCap(account: string, device: number, bytes: number, caps: QueueCaps, sender: string): QueueFullReason | undefined;
  /** Stores a body once for several queue rows; its id for `insertQueued`. */
  storeBody(body: Uint8Array): number;
  insertQueued(
    m: OutgoingMessage,
    from: { sender: string; senderDevice: number; messageId: string },
    now: number,
    expiresAt: number,
    bodyId?: number,
  ): number;
  /** Records a send's id; false when it was already recorded. */
  logSend(sender: string, senderDevice: number, messageId: string, now: number): boolean;
}

/** Builds the KeyPackage and group methods over an open, migrated database. */
export function createSqliteGroupStore(
  db: Database.Database,
  queue: SqliteQueueAccess,
): KeyPackageDirectory & GroupDirectory {
  const q = {
    insertKeyPackage: db.prepare(
      'INSERT INTO key_packages (account, device, digest, key_package) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    setLastResort: db.prepare(
      `INSERT INTO last_resort_key_packages (account, device, key_package) VALUES (?, ?, ?)
       ON CONFLICT (account, device) DO UPDATE SET key_package = excluded.key_package`,
    ),
    countOneTime: db.prepare('SELECT COUNT(*) FROM key_packages WHERE account = ? AND device = ?').pluck(),
    hasLastResort: db.prepare('SELECT 1 FROM last_resort_key_packages WHERE account = ? AND device = ?').pluck(),
    takeOneTime: db.prepare(
      `DELETE FROM key_packages WHERE id =
         (SELECT id FROM key_packages WHERE account = ? AND device = ? ORDER BY id LIMIT 1)
       RETURNING key_package`,
    ),
    getLastResort: db.prepare('SELECT key_package FROM last_resort_key_packages WHERE account = ? AND device = ?'),
    insertGroup: db.prepare('INSERT INTO groups (group_id, epoch) VALUES (?, 0) ON CONFLICT DO NOTHING'),
    insertMember: db.prepare('INSERT OR IGNORE INTO group_members (group_id, account, device) VALUES (?, ?, ?)'),
    getEpoch: db.prepare('SELECT epoch FROM groups WHERE group_id = ?').pluck(),
    members: db.prepare(
      `SELECT m.account, m.device FROM group_members m
       JOIN devices d ON d.account = m.account AND d.id = m.device
       WHERE m.group_id = ? ORDER BY m.account, m.device`,
    ),
    deviceExists: db.prepare('SELECT 1 FROM devices WHERE account = ? AND id = ?').pluck(),
    sendLogged: db.prepare('SELECT 1 FROM send_log WHERE sender = ? AND sender_device = ? AND message_id = ?').pluck(),
    bumpEpoch: db.prepare('UPDATE groups SET epoch = epoch + 1 WHERE group_id = ? AND epoch = ?'),
    clearMembers: db.prepare('DELETE FROM group_members WHERE group_id = ?'),
    grant: db.prepare(
      `INSERT INTO key_package_grants (grantee, grantee_device, account, device, expires_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (grantee, grantee_device, account, device) DO UPDATE SET expires_at = excluded.expires_at`,
    ),
    granted: db
      .prepare(
        `SELECT 1 FROM key_package_grants
         WHERE grantee = ? AND grantee_device = ? AND account = ? AND device = ? AND expires_at > ?`,
      )
      .pluck(),
    useGrant: db.prepare(
      'DELETE FROM key_package_grants WHERE grantee = ? AND grantee_device = ? AND account = ? AND device = ?',
    ),
    groupsOf: db.prepare(
      `SELECT g.group_id, g.epoch, m.device FROM group_members m JOIN groups g ON g.group_id = m.group_id
       WHERE m.account = ? ORDER BY g.group_id, m.device`,
    ),
  };

  const oneTimeCount = (account: string, device: number): number => q.countOneTime.get(account, device) as number;
  const storedMembers = (groupId: string): DeviceAddress[] =>
    (q.members.all(groupId) as Row[]).map((r) => ({ account: r.account as string, device: r.device as number }));

  const storeKeyPackages = db.transaction(
    (
      account: string,
      device: number,
      packages: Parameters<KeyPackageDirectory['storeKeyPackages']>[2],
      max: number,
    ): StoreKeyPackagesOutcome => {
      for (const kp of packages.oneTime) q.insertKeyPackage.run(account, device, digest(kp), kp);
      const count = oneTimeCount(account, device);
      // Thrown to roll back what was inserted above.
      if (count > max) throw new TooMany();
      if (packages.lastResort !== undefined) q.setLastResort.run(account, device, packages.lastResort);
      return { status: 'stored', count };
    },
  );

  const takeKeyPackage = db.transaction(
    (account: string, device: number, grant: KeyPackageGrant, spare: boolean): TakenKeyPackage | undefined => {
      const taken = spare ? undefined : (q.takeOneTime.get(account, device) as Row | undefined);
      const row = taken ?? (q.getLastResort.get(account, device) as Row | undefined);
      if (row === undefined) return undefined;
      q.grant.run(grant.to.account, grant.to.device, account, device, grant.expiresAt);
      return {
        keyPackage: bytes(row.key_package),
        lastResort: taken === undefined,
        remaining: oneTimeCount(account, device),
      };
    },
  );

  const commitGroup = db.transaction(
    (commit: GroupCommit, now: number, expiresAt: number, caps: QueueCaps): GroupCommitOutcome => {
      const epoch = q.getEpoch.get(commit.groupId) as number | undefined;
      if (epoch === undefined) return { status: 'unknown-group' };
      // A retry of an accepted commit (its answer was lost) is a duplicate, not a stale epoch.
      if (q.sendLogged.get(commit.sender, commit.senderDevice, commit.messageId) !== undefined) {
        return { status: 'duplicate' };
      }
      const old = storedMembers(commit.groupId);
      const refused = refuseCommit({ epoch, members: old }, commit);
      if (refused !== undefined) return refused;
      const plan = planCommit(commit, {
        old,
        exists: (a) => q.deviceExists.get(a.account, a.device) !== undefined,
        invited: (a) => q.granted.get(commit.sender, commit.senderDevice, a.account, a.device, now) !== undefined,
        atCap: (a, bytes) => queue.atCap(a.account, a.device, bytes, caps, commit.sender),
      });
      if (plan.status !== 'ok') return plan;
      if (q.bumpEpoch.run(commit.groupId, commit.epoch).changes !== 1) {
        return { status: 'epoch-moved', epoch: q.getEpoch.get(commit.groupId) as number };
      }
      queue.logSend(commit.sender, commit.senderDevice, commit.messageId, now);
      q.clearMembers.run(commit.groupId);
      for (const m of plan.members) q.insertMember.run(commit.groupId, m.account, m.device);
      for (const a of plan.added) q.useGrant.run(commit.sender, commit.senderDevice, a.account, a.device);
      // The commit and the welcome are each stored once, whatever the number of devices.
      const bodyIds = new Map<boolean, number>();
      const deliveries: CommitDelivery[] = plan.deliveries.map((d) => {
        const message = d.welcome ? commit.welcome : commit.commit;
        if (message === undefined) throw new Error('a welcome delivery without a welcome');
        let bodyId = bodyIds.get(d.welcome);
        if (bodyId === undefined) {
          bodyId = queue.storeBody(message.body);
          bodyIds.set(d.welcome, bodyId);
        }
        const m = { ...d, kind: message.kind, body: message.body };
        const seq = queue.insertQueued(m, commit, now, expiresAt, bodyId);
        return { account: d.account, device: d.device, seq, welcome: d.welcome };
      });
      return { status: 'committed', epoch: commit.epoch + 1, deliveries };
    },
  );

  return {
    async storeKeyPackages(account, device, packages, max) {
      try {
        return storeKeyPackages(account, device, packages, max);
      } catch (err) {
        if (err instanceof TooMany) return { status: 'too-many', count: oneTimeCount(account, device) };
        throw err;
      }
    },
    async countKeyPackages(account, device) {
      return {
        oneTime: oneTimeCount(account, device),
        lastResort: q.hasLastResort.get(account, device) !== undefined,
      };
    },
    async takeKeyPackage(account, device, grant, spare = false) {
      return takeKeyPackage.immediate(account, device, grant, spare);
    },
    async createGroup(groupId, creator) {
      return db
        .transaction(() => {
          if (q.insertGroup.run(groupId).changes === 0) return 'exists' as const;
          q.insertMember.run(groupId, creator.account, creator.device);
          return 'created' as const;
        })
        .immediate();
    },
    async getGroup(groupId) {
      const epoch = q.getEpoch.get(groupId) as number | undefined;
      if (epoch === undefined) return undefined;
      return { groupId, epoch, members: storedMembers(groupId) };
    },
    async commitGroup(commit, now, expiresAt, caps) {
      return commitGroup.immediate(commit, now, expiresAt, caps);
    },
    async groupsOf(account) {
      const out = new Map<string, { groupId: string; epoch: number; devices: number[] }>();
      for (const r of q.groupsOf.all(account) as Row[]) {
        const id = r.group_id as string;
        let g = out.get(id);
        if (g === undefined) {
          g = { groupId: id, epoch: r.epoch as number, devices: [] };
          out.set(id, g);
        }
        g.devices.push(r.device as number);
      }
      return [...out.values()];
    },
  };
}

/** SHA-256 of a KeyPackage: the same package uploaded twice is stored once. */
function digest(keyPackage: Uint8Array): Buffer {
  return createHash('sha256').update(keyPackage).digest();
}

class TooMany extends Error {}
