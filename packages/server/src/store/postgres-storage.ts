/**
 * The PostgreSQL implementation of `Storage` (node-postgres). Unlike SQLite it may be shared by
 * several server nodes, so every guarantee comes from the database: one-time prekeys are taken
 * with `DELETE … RETURNING` over a `FOR UPDATE SKIP LOCKED` pick (two concurrent fetches never
 * get the same key), a batch of sends is one transaction, device-list updates compare and set
 * the version, and migrations run under an advisory lock.
 */
import { accountNameSkeleton, constantTimeEqual } from '@parley/protocol';
import pg from 'pg';
import type { Migration } from './migrations.ts';
import { buf, type Db, inTransaction } from './postgres-db.ts';
import { createPostgresGroupStore } from './postgres-group-store.ts';
import { createPostgresKtStore } from './postgres-kt-store.ts';
import { POSTGRES_MIGRATIONS } from './postgres-migrations.ts';
import {
  atCap,
  countQueued,
  dropUnusedBodies,
  EMPTY,
  queueDepths,
  senderDepths,
  storeBodies,
} from './postgres-queue.ts';
import { heldToShare, overallReason } from './queue-caps.ts';
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
import type {
  DeviceAddress,
  OutgoingMessage,
  PreKeyCounts,
  QueueFullReason,
  SendOutcome,
  SignedKeyRow,
  Storage,
  TakenBundle,
} from './storage.ts';

const MIGRATION_LOCK = 0x7061726c; // "parl"

/** Applies every migration the database has not recorded, under an advisory lock. */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  return inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await c.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)',
    );
    const done = new Set((await c.query('SELECT version FROM schema_migrations')).rows.map((r) => r.version as number));
    const ran: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await c.query(m.up);
      await c.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [m.version, Date.now()]);
      ran.push(m.version);
    }
    await fillSkeletons(c);
    return ran;
  });
}

/**
 * Gives accounts created before migration 4 their name skeleton, oldest first; an account whose
 * skeleton another already has (a lookalike registered before the rule) keeps none.
 */
async function fillSkeletons(c: pg.PoolClient): Promise<void> {
  const cols = await c.query(
    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'accounts' AND column_name = 'skeleton'",
  );
  if (cols.rowCount === 0) return;
  const rows = await c.query('SELECT name FROM accounts WHERE skeleton IS NULL ORDER BY created_at, name');
  for (const r of rows.rows as { name: string }[]) {
    // A savepoint per row: a registration racing this one may take the skeleton first.
    await c.query('SAVEPOINT fill_skeleton');
    try {
      await c.query('UPDATE accounts SET skeleton = $1 WHERE name = $2', [accountNameSkeleton(r.name), r.name]);
      await c.query('RELEASE SAVEPOINT fill_skeleton');
    } catch (err) {
      if ((err as { code?: string }).code !== '23505') throw err;
      await c.query('ROLLBACK TO SAVEPOINT fill_skeleton');
    }
  }
}

/**
 * Connects to `url` (`postgres://…`), optionally inside `schema` (created if missing; tests use a
 * fresh one each run), migrates, and returns the store.
 */
export async function openPostgresStorage(url: string, options: { schema?: string } = {}): Promise<Storage> {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error('invalid schema name');
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  if (schema !== undefined) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await migratePostgres(pool);
  return createPostgresStorage(pool);
}

function createPostgresStorage(pool: pg.Pool): Storage {
  const counts = async (db: Db, account: string, device: number): Promise<PreKeyCounts> => {
    const r = await db.query(
      `SELECT (SELECT COUNT(*) FROM one_time_prekeys WHERE account = $1 AND device = $2) AS one_time,
              (SELECT COUNT(*) FROM kem_prekeys WHERE account = $1 AND device = $2 AND NOT last_resort) AS kem`,
      [account, device],
    );
    const row = r.rows[0] as Row;
    return { oneTime: Number(row.one_time), kem: Number(row.kem) };
  };
  const signedRow = (r: Row): SignedKeyRow => ({
    id: Number(r.id),
    publicKey: bytes(r.public_key),
    signature: bytes(r.signature),
    createdAt: Number(r.created_at),
  });

  return {
    ...createPostgresGroupStore(pool),
    ...createPostgresKtStore(pool),
    async createAccount(a, inviteHash) {
      try {
        return await inTransaction(pool, async (c) => {
          const ins = await c.query(
            `INSERT INTO accounts (name, account_key, device_list, list_version, created_at, skeleton)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
            [a.name, buf(a.accountKey), buf(a.deviceList), a.listVersion, a.createdAt, a.skeleton],
          );
          if (ins.rowCount === 0) {
            const named = await c.query('SELECT 1 FROM accounts WHERE name = $1', [a.name]);
            return named.rowCount === 0 ? ('name-confusable' as const) : ('name-taken' as const);
          }
          if (inviteHash !== undefined) {
            const used = await c.query(
              'UPDATE invites SET used_by = $1, used_at = $2 WHERE code_hash = $3 AND used_by IS NULL',
              [a.name, a.createdAt, buf(inviteHash)],
            );
            if (used.rowCount === 0) throw new BadInvite();
          }
          for (const d of a.devices) {
            await c.query('INSERT INTO devices (account, id, identity) VALUES ($1, $2, $3)', [
              a.name,
              d.id,
              buf(d.identity),
            ]);
          }
          await c.query('INSERT INTO kt_pending (name) VALUES ($1)', [a.name]);
          return 'created' as const;
        });
      } catch (err) {
        if (err instanceof BadInvite) return 'bad-invite';
        throw err;
      }
    },
    async getAccount(name) {
      const r = (await pool.query('SELECT * FROM accounts WHERE name = $1', [name])).rows[0] as Row | undefined;
      if (r === undefined) return undefined;
      return accountRow(r);
    },
    async listDevices(name) {
      const r = await pool.query('SELECT account, id, identity FROM devices WHERE account = $1 ORDER BY id', [name]);
      return r.rows.map(deviceRow);
    },
    async deviceSet(name) {
      const r = await pool.query(
        'SELECT id, substring(identity from 1 for 8) AS key FROM devices WHERE account = $1 ORDER BY id',
        [name],
      );
      return r.rows.map((x: Row) => ({ id: x.id as number, keyId: (x.key as Buffer).toString('base64url') }));
    },
    async rotateAuthToken(account, device, presentedHash, nextHash) {
      // The old value, read in the same statement that replaces it (the row is locked by the update).
      const r = await pool.query(
        `UPDATE devices d SET auth_token_hash = $3 FROM (
           SELECT auth_token_hash FROM devices WHERE account = $1 AND id = $2 FOR UPDATE) old
         WHERE d.account = $1 AND d.id = $2 RETURNING old.auth_token_hash AS h`,
        [account, device, buf(nextHash)],
      );
      const row = r.rows[0] as Row | undefined;
      if (row === undefined) return 'missing';
      if (row.h === null) return 'first';
      return presentedHash !== undefined && (row.h as Buffer).equals(buf(presentedHash)) ? 'match' : 'mismatch';
    },
    async createInvite(codeHash, createdAt) {
      await pool.query('INSERT INTO invites (code_hash, created_at) VALUES ($1, $2)', [buf(codeHash), createdAt]);
    },
    async updateDeviceList(name, expectedVersion, list) {
      return inTransaction(pool, async (c) => {
        const set = await c.query(
          'UPDATE accounts SET device_list = $1, list_version = $2 WHERE name = $3 AND list_version = $4',
          [buf(list.bytes), list.version, name, expectedVersion],
        );
        if (set.rowCount === 0) return { status: 'stale' as const };
        await c.query('INSERT INTO kt_pending (name) VALUES ($1)', [name]);
        const before = (await c.query('SELECT id, identity FROM devices WHERE account = $1', [name])).rows as Row[];
        const removed: number[] = [];
        for (const old of before) {
          const id = old.id as number;
          const next = list.devices.find((d) => d.id === id);
          if (next !== undefined && constantTimeEqual(next.identity, bytes(old.identity))) continue;
          await c.query('DELETE FROM devices WHERE account = $1 AND id = $2', [name, id]);
          for (const t of DEVICE_TABLES) {
            await c.query(`DELETE FROM ${t} WHERE account = $1 AND device = $2`, [name, id]);
          }
          removed.push(id);
        }
        for (const d of list.devices) {
          if (!before.some((b) => b.id === d.id) || removed.includes(d.id)) {
            await c.query('INSERT INTO devices (account, id, identity) VALUES ($1, $2, $3)', [
              name,
              d.id,
              buf(d.identity),
            ]);
          }
        }
        return { status: 'updated' as const, removed };
      });
    },
    async deleteAccount(name, accountKey) {
      return inTransaction(pool, async (c) => {
        const account = (await c.query('SELECT account_key FROM accounts WHERE name = $1 FOR UPDATE', [name]))
          .rows[0] as Row | undefined;
        if (account === undefined || !constantTimeEqual(bytes(account.account_key), accountKey)) return undefined;
        const ids = ((await c.query('SELECT id FROM devices WHERE account = $1', [name])).rows as Row[]).map(
          (r) => r.id as number,
        );
        for (const t of DEVICE_TABLES) await c.query(`DELETE FROM ${t} WHERE account = $1`, [name]);
        await c.query('DELETE FROM send_log WHERE sender = $1', [name]);
        await c.query('DELETE FROM devices WHERE account = $1', [name]);
        await c.query('DELETE FROM accounts WHERE name = $1', [name]);
        await c.query('DELETE FROM message_bodies b WHERE NOT EXISTS (SELECT 1 FROM queue q WHERE q.body_id = b.id)');
        return ids;
      });
    },
    async storePreKeys(account, device, keys) {
      return inTransaction(pool, async (c) => {
        if (keys.signedPreKey) {
          const s = keys.signedPreKey;
          await c.query(
            `INSERT INTO signed_prekeys (account, device, id, public_key, signature, created_at) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (account, device) DO UPDATE SET id = excluded.id, public_key = excluded.public_key,
               signature = excluded.signature, created_at = excluded.created_at`,
            [account, device, s.id, buf(s.publicKey), buf(s.signature), s.createdAt],
          );
        }
        for (const k of keys.oneTimePreKeys) {
          await c.query(
            `INSERT INTO one_time_prekeys (account, device, id, public_key) VALUES ($1, $2, $3, $4)
             ON CONFLICT (account, device, id) DO UPDATE SET public_key = excluded.public_key`,
            [account, device, k.id, buf(k.publicKey)],
          );
        }
        const kem = async (k: SignedKeyRow, lastResort: boolean) =>
          c.query(
            `INSERT INTO kem_prekeys (account, device, id, public_key, signature, last_resort, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (account, device, id) DO UPDATE SET public_key = excluded.public_key, signature = excluded.signature,
               last_resort = excluded.last_resort, created_at = excluded.created_at`,
            [account, device, k.id, buf(k.publicKey), buf(k.signature), lastResort, k.createdAt],
          );
        for (const k of keys.kemPreKeys) await kem(k, false);
        if (keys.lastResortKemPreKey) {
          await c.query('DELETE FROM kem_prekeys WHERE account = $1 AND device = $2 AND last_resort', [
            account,
            device,
          ]);
          await kem(keys.lastResortKemPreKey, true);
        }
        return counts(c, account, device);
      });
    },
    async countPreKeys(account, device) {
      return counts(pool, account, device);
    },
    async takeBundle(account, device, spare = false) {
      return inTransaction(pool, async (c): Promise<TakenBundle | undefined> => {
        const signed = (
          await c.query(
            'SELECT id, public_key, signature, created_at FROM signed_prekeys WHERE account = $1 AND device = $2',
            [account, device],
          )
        ).rows[0] as Row | undefined;
        if (signed === undefined) return undefined;
        const kem = (
          await c.query(
            `DELETE FROM kem_prekeys WHERE (account, device, id) IN (
               SELECT account, device, id FROM kem_prekeys
               WHERE account = $1 AND device = $2 AND NOT last_resort AND NOT $3::boolean
               ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, public_key, signature, created_at`,
            [account, device, spare],
          )
        ).rows[0] as Row | undefined;
        const kemRow =
          kem ??
          ((
            await c.query(
              'SELECT id, public_key, signature, created_at FROM kem_prekeys WHERE account = $1 AND device = $2 AND last_resort',
              [account, device],
            )
          ).rows[0] as Row | undefined);
        if (kemRow === undefined) return undefined;
        const otp = (
          await c.query(
            `DELETE FROM one_time_prekeys WHERE (account, device, id) IN (
               SELECT account, device, id FROM one_time_prekeys WHERE account = $1 AND device = $2 AND NOT $3::boolean
               ORDER BY random() LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, public_key`,
            [account, device, spare],
          )
        ).rows[0] as Row | undefined;
        return {
          signedPreKey: signedRow(signed),
          oneTimePreKey: otp && { id: Number(otp.id), publicKey: bytes(otp.public_key) },
          kemPreKey: { ...signedRow(kemRow), lastResort: kem === undefined },
        };
      });
    },
    async enqueue(items, now, expiresAt, caps, acks = []) {
      // Set-based, so a batch costs a fixed number of round trips whatever its size.
      return inTransaction(pool, async (c) => {
        const ackRows = acks.flatMap((a) => a.seqs.map((seq) => [a.account, a.device, seq] as const));
        if (ackRows.length > 0) {
          const r = await c.query(
            `DELETE FROM queue q USING unnest($1::text[], $2::int[], $3::bigint[]) AS a(account, device, seq)
             WHERE q.account = a.account AND q.device = a.device AND q.seq = a.seq RETURNING q.body_id`,
            [ackRows.map((r) => r[0]), ackRows.map((r) => r[1]), ackRows.map((r) => r[2])],
          );
          await dropUnusedBodies(c, r.rows as Row[]);
        }
        if (items.length === 0) return [];
        const targets = items.flatMap((i) => i.messages.map((m) => [m.account, m.device] as const));
        const depth = await queueDepths(c, targets);
        const shares = await senderDepths(
          c,
          items.flatMap((i) =>
            i.messages
              .filter((m) => heldToShare(i.sender, m.account, caps))
              .map((m) => [m.account, m.device, i.sender] as const),
          ),
        );
        const outcomes: (SendOutcome | undefined)[] = items.map((item) => {
          const full: DeviceAddress[] = [];
          const reasons: QueueFullReason[] = [];
          for (const m of item.messages) {
            const reason = atCap(depth, shares, m, item.sender, m.body.byteLength, caps);
            if (reason === undefined) continue;
            full.push({ account: m.account, device: m.device });
            reasons.push(reason);
          }
          if (full.length > 0) return { status: 'queue-full', devices: full, reason: overallReason(reasons) };
          for (const m of item.messages) countQueued(depth, shares, m, item.sender, m.body.byteLength);
          return undefined;
        });
        const candidates = items.filter((_, i) => outcomes[i] === undefined);
        const logged = new Set<string>();
        if (candidates.length > 0) {
          const r = await c.query(
            `INSERT INTO send_log (sender, sender_device, message_id, server_time)
             SELECT s, d, m, $4 FROM unnest($1::text[], $2::int[], $3::text[]) AS t(s, d, m)
             ON CONFLICT DO NOTHING RETURNING sender, sender_device, message_id`,
            [
              candidates.map((i) => i.sender),
              candidates.map((i) => i.senderDevice),
              candidates.map((i) => i.messageId),
              now,
            ],
          );
          for (const x of r.rows as Row[]) logged.add(`${x.sender}\u0000${x.sender_device}\u0000${x.message_id}`);
        }
        // A message id logged now belongs to its first item in the batch; a repeat is a duplicate.
        const fresh = candidates.filter((i) => logged.delete(`${i.sender}\u0000${i.senderDevice}\u0000${i.messageId}`));
        // A group message's body is stored once; its rows reference it.
        const sharing = fresh.filter((i) => i.sharedBody === true && i.messages.length > 1);
        const ids = await storeBodies(
          c,
          sharing.map((i) => (i.messages[0] as OutgoingMessage).body),
        );
        const bodyIdOf = new Map(sharing.map((item, n) => [item, ids[n] as number]));
        const rows = fresh.flatMap((i) => i.messages.map((m) => ({ i, m, bodyId: bodyIdOf.get(i) ?? null })));
        const seqOf = new Map<string, number>();
        if (rows.length > 0) {
          const r = await c.query(
            `INSERT INTO queue (account, device, sender, sender_device, message_id, kind, body, body_id, size,
                                server_time, expires_at)
             SELECT a, d, s, sd, m, kd, b, bid, sz, $10, ex
             FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::text[], $6::smallint[], $7::bytea[],
                         $8::bigint[], $9::int[], $11::bigint[])
               WITH ORDINALITY AS t(a, d, s, sd, m, kd, b, bid, sz, ex, ord)
             ORDER BY ord
             RETURNING seq, account, device, sender, sender_device, message_id`,
            [
              rows.map((x) => x.m.account),
              rows.map((x) => x.m.device),
              rows.map((x) => x.i.sender),
              rows.map((x) => x.i.senderDevice),
              rows.map((x) => x.i.messageId),
              rows.map((x) => x.m.kind),
              rows.map((x) => (x.bodyId === null ? buf(x.m.body) : EMPTY)),
              rows.map((x) => x.bodyId),
              rows.map((x) => x.m.body.byteLength),
              now,
              rows.map((x) => Math.min(expiresAt, x.i.expiresAt ?? expiresAt)),
            ],
          );
          for (const x of r.rows as Row[]) {
            seqOf.set(
              `${x.account}\u0000${x.device}\u0000${x.sender}\u0000${x.sender_device}\u0000${x.message_id}`,
              Number(x.seq),
            );
          }
        }
        return items.map((item, idx): SendOutcome => {
          const decided = outcomes[idx];
          if (decided !== undefined) return decided;
          if (!fresh.includes(item)) return { status: 'duplicate' };
          return {
            status: 'queued',
            seqs: item.messages.map((m) => ({
              account: m.account,
              device: m.device,
              seq: seqOf.get(
                `${m.account}\u0000${m.device}\u0000${item.sender}\u0000${item.senderDevice}\u0000${item.messageId}`,
              ) as number,
            })),
          };
        });
      });
    },
    async pending(account, device, afterSeq, limit, now) {
      const r = await pool.query(
        `SELECT q.seq, q.sender, q.sender_device, q.message_id, q.kind, COALESCE(b.body, q.body) AS body, q.server_time
         FROM queue q LEFT JOIN message_bodies b ON b.id = q.body_id
         WHERE q.account = $1 AND q.device = $2 AND q.seq > $3 AND q.expires_at > $4 ORDER BY q.seq LIMIT $5`,
        [account, device, afterSeq, now, limit],
      );
      return r.rows.map(queuedMessageRow);
    },
    async acknowledge(acks) {
      if (acks.length === 0) return;
      await inTransaction(pool, async (c) => {
        for (const a of acks) {
          const r = await c.query(
            'DELETE FROM queue WHERE account = $1 AND device = $2 AND seq = ANY($3::bigint[]) RETURNING body_id',
            [a.account, a.device, a.seqs],
          );
          await dropUnusedBodies(c, r.rows as Row[]);
        }
      });
    },
    async purgeExpired(now, sendLogBefore) {
      const r = await pool.query('DELETE FROM queue WHERE expires_at <= $1', [now]);
      // Also catches a body whose last two references were acknowledged at once on two nodes.
      await pool.query('DELETE FROM message_bodies b WHERE NOT EXISTS (SELECT 1 FROM queue q WHERE q.body_id = b.id)');
      await pool.query('DELETE FROM key_package_grants WHERE expires_at <= $1', [now]);
      await pool.query('DELETE FROM send_log WHERE server_time < $1', [sendLogBefore]);
      await pool.query(
        'DELETE FROM groups g WHERE NOT EXISTS (SELECT 1 FROM group_members m WHERE m.group_id = g.group_id)',
      );
      await pool.query('DELETE FROM link_channels WHERE expires_at <= $1', [now]);
      return r.rowCount ?? 0;
    },
    async openLinkChannel(id, c, now, max) {
      // The bound is checked before the insert, not under a lock: concurrent opens on several
      // nodes may pass it together (it limits resource use; the id's uniqueness is the key's).
      await pool.query('DELETE FROM link_channels WHERE id = $1 AND expires_at <= $2', [id, now]);
      const open = await pool.query('SELECT COUNT(*) AS n FROM link_channels WHERE expires_at > $1', [now]);
      if (Number((open.rows[0] as Row).n) >= max) return 'full';
      const r = await pool.query(
        `INSERT INTO link_channels (id, identity, name, mac, expires_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT DO NOTHING`,
        [id, c.identity, c.name, c.mac, c.expiresAt],
      );
      return r.rowCount === 1 ? 'opened' : 'in-use';
    },
    async getLinkChannel(id, now) {
      const r = await pool.query(
        'SELECT identity, name, mac, expires_at FROM link_channels WHERE id = $1 AND expires_at > $2 AND body IS NULL',
        [id, now],
      );
      const row = r.rows[0] as Row | undefined;
      return row === undefined ? undefined : linkChannelRow(row);
    },
    async answerLinkChannel(id, body, now) {
      const r = await pool.query(
        'UPDATE link_channels SET body = $1 WHERE id = $2 AND expires_at > $3 AND body IS NULL',
        [body, id, now],
      );
      return r.rowCount === 1;
    },
    async closeLinkChannel(id) {
      await pool.query('DELETE FROM link_channels WHERE id = $1', [id]);
    },
    async takeLinkAnswers(ids) {
      if (ids.length === 0) return [];
      const r = await pool.query(
        'DELETE FROM link_channels WHERE id = ANY($1::text[]) AND body IS NOT NULL RETURNING id, body',
        [ids],
      );
      return r.rows as { id: string; body: string }[];
    },
    async queueRecords(account) {
      const inbound = await pool.query(
        'SELECT device, sender, sender_device, server_time, size AS bytes FROM queue WHERE account = $1 ORDER BY seq',
        [account],
      );
      const outbound = await pool.query(
        'SELECT account, device, sender_device, server_time, size AS bytes FROM queue WHERE sender = $1 ORDER BY seq',
        [account],
      );
      const log = await pool.query(
        'SELECT sender_device, message_id, server_time FROM send_log WHERE sender = $1 ORDER BY server_time',
        [account],
      );
      return queueRecordsFromRows(inbound.rows, outbound.rows, log.rows);
    },
    async totalQueueDepth() {
      return Number(((await pool.query('SELECT COUNT(*) AS n FROM queue')).rows[0] as Row).n);
    },
    async storedQueueBytes() {
      const r = await pool.query(
        `SELECT (SELECT COALESCE(SUM(octet_length(body)), 0) FROM queue)
              + (SELECT COALESCE(SUM(octet_length(body)), 0) FROM message_bodies) AS n`,
      );
      return Number((r.rows[0] as Row).n);
    },
    async queueDepth(account, device) {
      const r = await pool.query('SELECT COUNT(*) AS n FROM queue WHERE account = $1 AND device = $2', [
        account,
        device,
      ]);
      return Number((r.rows[0] as Row).n);
    },
    async close() {
      await pool.end();
    },
  };
}

class BadInvite extends Error {}
