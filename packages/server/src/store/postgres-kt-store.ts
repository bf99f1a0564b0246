/**
 * The PostgreSQL side of the key-transparency directory (`KeyDirectoryStore`, migration 10).
 * Several nodes share it: the writer's lease row and the epoch's primary key make sure one epoch
 * is committed once, by the node holding the lease.
 */
import type pg from 'pg';
import { buf, inTransaction } from './postgres-db.ts';
import { bytes, type Row } from './rows.ts';
import { ktNodeColumns, ktNodeRow, ktValueRow } from './sqlite-kt-store.ts';
import type { KeyDirectoryStore } from './storage.ts';

const b = (x: Uint8Array | null): Buffer | null => (x === null ? null : buf(x));

export function createPostgresKtStore(pool: pg.Pool): KeyDirectoryStore {
  return {
    async ktRecordKeys(directoryKey, vrfKey) {
      return inTransaction(pool, async (c) => {
        const r = (await c.query('SELECT directory_key, vrf_key FROM kt_state WHERE id = 1 FOR UPDATE')).rows[0] as Row;
        if (r.directory_key === null) {
          await c.query('UPDATE kt_state SET directory_key = $1, vrf_key = $2 WHERE id = 1', [
            buf(directoryKey),
            buf(vrfKey),
          ]);
          return 'recorded' as const;
        }
        const same = (r.directory_key as Buffer).equals(buf(directoryKey)) && (r.vrf_key as Buffer).equals(buf(vrfKey));
        return same ? ('match' as const) : ('mismatch' as const);
      });
    },
    async ktLoad() {
      const c = await pool.connect();
      try {
        await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const s = (await c.query('SELECT epoch, root_label FROM kt_state WHERE id = 1')).rows[0] as Row;
        const nodes = (await c.query('SELECT * FROM kt_nodes')).rows as Row[];
        await c.query('COMMIT');
        return {
          epoch: Number(s.epoch),
          rootLabel: (s.root_label as string | null) ?? undefined,
          nodes: nodes.map(ktNodeRow),
        };
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
    async ktHeads(from, limit) {
      const r = await pool.query('SELECT epoch, head FROM kt_epochs WHERE epoch >= $1 ORDER BY epoch LIMIT $2', [
        from,
        limit,
      ]);
      return (r.rows as Row[]).map((x) => ({ epoch: Number(x.epoch), head: bytes(x.head) }));
    },
    async ktLastEpoch() {
      return Number((await pool.query('SELECT epoch FROM kt_state WHERE id = 1')).rows[0].epoch);
    },
    async ktUpdates(epoch) {
      const r = await pool.query(
        'SELECT map_key, value_hash, version FROM kt_updates WHERE epoch = $1 ORDER BY map_key',
        [epoch],
      );
      return (r.rows as Row[]).map((x) => ({
        mapKey: bytes(x.map_key),
        valueHash: bytes(x.value_hash),
        version: Number(x.version),
      }));
    },
    async ktPending(limit) {
      const rows = (await pool.query('SELECT seq, name FROM kt_pending ORDER BY seq LIMIT $1', [limit])).rows as Row[];
      const names = [...new Set(rows.map((r) => r.name as string))];
      return { upTo: rows.length === 0 ? 0 : Number((rows[rows.length - 1] as Row).seq), names };
    },
    async ktCandidates(names) {
      if (names.length === 0) return [];
      const r = await pool.query(
        `SELECT a.name, a.account_key, a.device_list, v.map_key, v.vrf_proof, v.version, v.account_key AS v_key,
                v.list_hash
         FROM accounts a LEFT JOIN kt_values v ON v.name = a.name WHERE a.name = ANY($1)`,
        [names],
      );
      return (r.rows as Row[]).map((x) => ({
        name: x.name as string,
        accountKey: bytes(x.account_key),
        deviceList: bytes(x.device_list),
        current: x.map_key === null ? undefined : ktValueRow({ ...x, account_key: x.v_key }),
      }));
    },
    async ktClaimWriter(writer, now, leaseMs) {
      const r = await pool.query(
        'UPDATE kt_state SET writer = $1, lease_until = $2 WHERE id = 1 AND (writer IS NULL OR writer = $1 OR lease_until < $3)',
        [writer, now + leaseMs, now],
      );
      return (r.rowCount ?? 0) > 0;
    },
    async ktCommitEpoch(commit) {
      return inTransaction(pool, async (c) => {
        const held = await c.query('SELECT 1 FROM kt_state WHERE id = 1 AND writer = $1 AND epoch = $2 FOR UPDATE', [
          commit.writer,
          commit.epoch - 1,
        ]);
        if (held.rowCount === 0) return 'conflict' as const;
        const ins = await c.query('INSERT INTO kt_epochs (epoch, head) VALUES ($1, $2) ON CONFLICT DO NOTHING', [
          commit.epoch,
          buf(commit.head),
        ]);
        if (ins.rowCount === 0) return 'conflict' as const;
        for (const v of commit.values) {
          await c.query('INSERT INTO kt_updates (epoch, map_key, value_hash, version) VALUES ($1, $2, $3, $4)', [
            commit.epoch,
            buf(v.mapKey),
            buf(v.valueHash),
            v.version,
          ]);
          await c.query(
            `INSERT INTO kt_values (name, map_key, vrf_proof, version, account_key, list_hash) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, account_key = excluded.account_key,
               list_hash = excluded.list_hash`,
            [v.name, buf(v.mapKey), buf(v.vrfProof), v.version, buf(v.accountKey), buf(v.deviceListHash)],
          );
        }
        for (const n of commit.nodes) {
          const [kind, depth, a, bb, left, right] = ktNodeColumns(n);
          await c.query(
            `INSERT INTO kt_nodes (label, kind, depth, a, b, left_label, right_label) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (label) DO UPDATE SET kind = excluded.kind, depth = excluded.depth, a = excluded.a,
               b = excluded.b, left_label = excluded.left_label, right_label = excluded.right_label`,
            [n.label, kind, depth, buf(a), b(bb), left, right],
          );
        }
        await c.query('UPDATE kt_state SET epoch = $1, root_label = $2 WHERE id = 1', [
          commit.epoch,
          commit.rootLabel ?? null,
        ]);
        await c.query('DELETE FROM kt_pending WHERE seq <= $1', [commit.pendingUpTo]);
        return 'committed' as const;
      });
    },
    async ktValue(name) {
      const r = (await pool.query('SELECT * FROM kt_values WHERE name = $1', [name])).rows[0] as Row | undefined;
      return r === undefined ? undefined : ktValueRow(r);
    },
    async ktAddCosignature(epoch, key, sig) {
      await pool.query(
        'INSERT INTO kt_cosignatures (epoch, witness_key, signature) VALUES ($1, $2, $3) ON CONFLICT (epoch, witness_key) DO UPDATE SET signature = excluded.signature',
        [epoch, buf(key), buf(sig)],
      );
    },
    async ktCosignatures(epoch) {
      const r = await pool.query(
        'SELECT witness_key, signature FROM kt_cosignatures WHERE epoch = $1 ORDER BY witness_key',
        [epoch],
      );
      return (r.rows as Row[]).map((x) => ({ key: bytes(x.witness_key), signature: bytes(x.signature) }));
    },
  };
}
