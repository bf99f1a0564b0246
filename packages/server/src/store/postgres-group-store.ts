/**
 * The PostgreSQL half of MLS delivery: KeyPackages and group delivery records, safe with several
 * server nodes on one database. A one-time KeyPackage is taken with `DELETE … RETURNING` over a
 * `FOR UPDATE SKIP LOCKED` pick (two concurrent fetches never get the same one). A commit locks
 * its group's row (`SELECT … FOR UPDATE`), so concurrent commits on one group run one after the
 * other; the loser then reads the advanced epoch and is refused, and the epoch is bumped with a
 * conditional `UPDATE … WHERE epoch = $2` as well, so "first commit on an epoch wins" does not
 * rest on the lock alone.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { addressKey, planCommit, refuseCommit } from './group-commit-plan.ts';
import { buf, type Db, inTransaction } from './postgres-db.ts';
import { atCap, EMPTY, queueDepths, senderDepths, storeBodies } from './postgres-queue.ts';
import { heldToShare } from './queue-caps.ts';
import { bytes, type Row } from './rows.ts';
import type {
  DeviceAddress,
  GroupCommit,
  GroupCommitOutcome,
  GroupDirectory,
  KeyPackageDirectory,
  QueueCaps,
} from './storage.ts';

/** Builds the KeyPackage and group methods over a migrated pool. */
export function createPostgresGroupStore(pool: pg.Pool): KeyPackageDirectory & GroupDirectory {
  const oneTimeCount = async (db: Db, account: string, device: number): Promise<number> => {
    const r = await db.query('SELECT COUNT(*) AS n FROM key_packages WHERE account = $1 AND device = $2', [
      account,
      device,
    ]);
    return Number((r.rows[0] as Row).n);
  };
  const storedMembers = async (db: Db, groupId: string): Promise<DeviceAddress[]> => {
    const r = await db.query(
      `SELECT m.account, m.device FROM group_members m
       JOIN devices d ON d.account = m.account AND d.id = m.device
       WHERE m.group_id = $1 ORDER BY m.account, m.device`,
      [groupId],
    );
    return (r.rows as Row[]).map((x) => ({ account: x.account as string, device: x.device as number }));
  };

  return {
    async storeKeyPackages(account, device, packages, max) {
      try {
        return await inTransaction(pool, async (c) => {
          if (packages.oneTime.length > 0) {
            await c.query(
              `INSERT INTO key_packages (account, device, digest, key_package)
               SELECT $1, $2, d, k FROM unnest($3::bytea[], $4::bytea[]) WITH ORDINALITY AS t(d, k, ord)
               ORDER BY ord ON CONFLICT DO NOTHING`,
              [account, device, packages.oneTime.map(digest), packages.oneTime.map(buf)],
            );
          }
          const count = await oneTimeCount(c, account, device);
          // Thrown to roll back what was inserted above.
          if (count > max) throw new TooMany();
          if (packages.lastResort !== undefined) {
            await c.query(
              `INSERT INTO last_resort_key_packages (account, device, key_package) VALUES ($1, $2, $3)
               ON CONFLICT (account, device) DO UPDATE SET key_package = excluded.key_package`,
              [account, device, buf(packages.lastResort)],
            );
          }
          return { status: 'stored' as const, count };
        });
      } catch (err) {
        if (err instanceof TooMany) return { status: 'too-many', count: await oneTimeCount(pool, account, device) };
        throw err;
      }
    },
    async countKeyPackages(account, device) {
      const r = await pool.query(
        `SELECT (SELECT COUNT(*) FROM key_packages WHERE account = $1 AND device = $2) AS n,
                EXISTS (SELECT 1 FROM last_resort_key_packages WHERE account = $1 AND device = $2) AS lr`,
        [account, device],
      );
      const row = r.rows[0] as Row;
      return { oneTime: Number(row.n), lastResort: row.lr === true };
    },
    async takeKeyPackage(account, device, grant, spare = false) {
      return inTransaction(pool, async (c) => {
        const taken = (
          await c.query(
            `DELETE FROM key_packages WHERE id IN (
               SELECT id FROM key_packages WHERE account = $1 AND device = $2 AND NOT $3::boolean
               ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING key_package`,
            [account, device, spare],
          )
        ).rows[0] as Row | undefined;
        const row =
          taken ??
          ((
            await c.query('SELECT key_package FROM last_resort_key_packages WHERE account = $1 AND device = $2', [
              account,
              device,
            ])
          ).rows[0] as Row | undefined);
        if (row === undefined) return undefined;
        await c.query(
          `INSERT INTO key_package_grants (grantee, grantee_device, account, device, expires_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (grantee, grantee_device, account, device) DO UPDATE SET expires_at = excluded.expires_at`,
          [grant.to.account, grant.to.device, account, device, grant.expiresAt],
        );
        return {
          keyPackage: bytes(row.key_package),
          lastResort: taken === undefined,
          remaining: await oneTimeCount(c, account, device),
        };
      });
    },
    async createGroup(groupId, creator) {
      return inTransaction(pool, async (c) => {
        const ins = await c.query('INSERT INTO groups (group_id, epoch) VALUES ($1, 0) ON CONFLICT DO NOTHING', [
          groupId,
        ]);
        if (ins.rowCount === 0) return 'exists' as const;
        await c.query('INSERT INTO group_members (group_id, account, device) VALUES ($1, $2, $3)', [
          groupId,
          creator.account,
          creator.device,
        ]);
        return 'created' as const;
      });
    },
    async getGroup(groupId) {
      const g = (await pool.query('SELECT epoch FROM groups WHERE group_id = $1', [groupId])).rows[0] as
        | Row
        | undefined;
      if (g === undefined) return undefined;
      return { groupId, epoch: Number(g.epoch), members: await storedMembers(pool, groupId) };
    },
    async commitGroup(commit, now, expiresAt, caps) {
      try {
        return await inTransaction(pool, (c) => commitInTransaction(c, commit, now, expiresAt, caps));
      } catch (err) {
        if (err instanceof DuplicateRace) return { status: 'duplicate' };
        throw err;
      }
    },
    async groupsOf(account) {
      const r = await pool.query(
        `SELECT g.group_id, g.epoch, array_agg(m.device ORDER BY m.device) AS devices
         FROM group_members m JOIN groups g ON g.group_id = m.group_id
         WHERE m.account = $1 GROUP BY g.group_id, g.epoch ORDER BY g.group_id`,
        [account],
      );
      return (r.rows as Row[]).map((x) => ({
        groupId: x.group_id as string,
        epoch: Number(x.epoch),
        devices: x.devices as number[],
      }));
    },
  };

  async function commitInTransaction(
    c: pg.PoolClient,
    commit: GroupCommit,
    now: number,
    expiresAt: number,
    caps: QueueCaps,
  ): Promise<GroupCommitOutcome> {
    const g = (await c.query('SELECT epoch FROM groups WHERE group_id = $1 FOR UPDATE', [commit.groupId])).rows[0] as
      | Row
      | undefined;
    if (g === undefined) return { status: 'unknown-group' };
    const logged = await c.query(
      'SELECT 1 FROM send_log WHERE sender = $1 AND sender_device = $2 AND message_id = $3',
      [commit.sender, commit.senderDevice, commit.messageId],
    );
    // A retry of an accepted commit (its answer was lost) is a duplicate, not a stale epoch.
    if ((logged.rowCount ?? 0) > 0) return { status: 'duplicate' };
    const old = await storedMembers(c, commit.groupId);
    const refused = refuseCommit({ epoch: Number(g.epoch), members: old }, commit);
    if (refused !== undefined) return refused;

    const wanted = [...commit.members, ...(commit.welcome?.to ?? []), ...old];
    const existing = await existingDevices(c, wanted);
    const depths = await queueDepths(
      c,
      wanted.map((a) => [a.account, a.device] as const),
    );
    const shares = await senderDepths(
      c,
      wanted
        .filter((a) => heldToShare(commit.sender, a.account, caps))
        .map((a) => [a.account, a.device, commit.sender] as const),
    );
    const invited = await grantsTo(c, { account: commit.sender, device: commit.senderDevice }, commit.members, now);
    const plan = planCommit(commit, {
      old,
      exists: (a) => existing.has(addressKey(a)),
      invited: (a) => invited.has(addressKey(a)),
      atCap: (a, bytes) => atCap(depths, shares, a, commit.sender, bytes, caps),
    });
    if (plan.status !== 'ok') return plan;

    const bumped = await c.query('UPDATE groups SET epoch = epoch + 1 WHERE group_id = $1 AND epoch = $2', [
      commit.groupId,
      commit.epoch,
    ]);
    if (bumped.rowCount !== 1) throw new Error('group epoch changed under its row lock');
    const log = await c.query(
      `INSERT INTO send_log (sender, sender_device, message_id, server_time) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [commit.sender, commit.senderDevice, commit.messageId, now],
    );
    // Only a concurrent send under the same id (not a commit: those wait for the row lock) gets here.
    if (log.rowCount === 0) throw new DuplicateRace();
    await c.query('DELETE FROM group_members WHERE group_id = $1', [commit.groupId]);
    await c.query(
      `INSERT INTO group_members (group_id, account, device)
       SELECT $1, a, d FROM unnest($2::text[], $3::int[]) AS t(a, d)`,
      [commit.groupId, plan.members.map((m) => m.account), plan.members.map((m) => m.device)],
    );
    if (plan.added.length > 0) {
      await c.query(
        `DELETE FROM key_package_grants g USING unnest($3::text[], $4::int[]) AS t(a, d)
         WHERE g.grantee = $1 AND g.grantee_device = $2 AND g.account = t.a AND g.device = t.d`,
        [commit.sender, commit.senderDevice, plan.added.map((a) => a.account), plan.added.map((a) => a.device)],
      );
    }
    const seqs = new Map<string, number>();
    if (plan.deliveries.length > 0) {
      const message = (welcome: boolean) => {
        const m = welcome ? commit.welcome : commit.commit;
        if (m === undefined) throw new Error('a welcome delivery without a welcome');
        return m;
      };
      // The commit and the welcome are each stored once, whatever the number of devices.
      const kinds = [false, true].filter((w) => plan.deliveries.some((d) => d.welcome === w));
      const ids = await storeBodies(
        c,
        kinds.map((w) => message(w).body),
      );
      const bodyId = new Map(kinds.map((w, i) => [w, ids[i] as number]));
      const r = await c.query(
        `INSERT INTO queue (account, device, sender, sender_device, message_id, kind, body, body_id, size,
                            server_time, expires_at)
         SELECT a, d, $3, $4, $5, kd, $10, bid, sz, $8, $9
         FROM unnest($1::text[], $2::int[], $6::smallint[], $7::bigint[], $11::int[])
           WITH ORDINALITY AS t(a, d, kd, bid, sz, ord)
         ORDER BY ord
         RETURNING seq, account, device`,
        [
          plan.deliveries.map((d) => d.account),
          plan.deliveries.map((d) => d.device),
          commit.sender,
          commit.senderDevice,
          commit.messageId,
          plan.deliveries.map((d) => message(d.welcome).kind),
          plan.deliveries.map((d) => bodyId.get(d.welcome)),
          now,
          expiresAt,
          EMPTY,
          plan.deliveries.map((d) => message(d.welcome).body.byteLength),
        ],
      );
      for (const x of r.rows as Row[]) {
        seqs.set(addressKey({ account: x.account as string, device: x.device as number }), Number(x.seq));
      }
    }
    return {
      status: 'committed',
      epoch: commit.epoch + 1,
      deliveries: plan.deliveries.map((d) => ({ ...d, seq: seqs.get(addressKey(d)) as number })),
    };
  }
}

/** The subset of `list` that names registered devices, as `addressKey`s. */
async function existingDevices(c: pg.PoolClient, list: readonly DeviceAddress[]): Promise<Set<string>> {
  const r = await c.query(
    `SELECT d.account, d.id FROM devices d
     JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::int[]) AS t(account, device)) t
       ON d.account = t.account AND d.id = t.device`,
    [list.map((a) => a.account), list.map((a) => a.device)],
  );
  return new Set((r.rows as Row[]).map((x) => addressKey({ account: x.account as string, device: x.id as number })));
}

/** The devices among `list` whose KeyPackage was handed to `grantee` (unexpired at `now`), as `addressKey`s. */
async function grantsTo(
  c: pg.PoolClient,
  grantee: DeviceAddress,
  list: readonly DeviceAddress[],
  now: number,
): Promise<Set<string>> {
  const r = await c.query(
    `SELECT g.account, g.device FROM key_package_grants g
     JOIN unnest($3::text[], $4::int[]) AS t(a, d) ON g.account = t.a AND g.device = t.d
     WHERE g.grantee = $1 AND g.grantee_device = $2 AND g.expires_at > $5`,
    [grantee.account, grantee.device, list.map((a) => a.account), list.map((a) => a.device), now],
  );
  return new Set(
    (r.rows as Row[]).map((x) => addressKey({ account: x.account as string, device: x.device as number })),
  );
}

/** SHA-256 of a KeyPackage: the same package uploaded twice is stored once. */
function digest(keyPackage: Uint8Array): Buffer {
  return createHash('sha256').update(keyPackage).digest();
}

class TooMany extends Error {}

/** A send under the commit's message id committed between the duplicate check and the log insert. */
class DuplicateRace extends Error {}
