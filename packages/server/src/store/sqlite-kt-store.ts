/**
 * The SQLite side of the key-transparency directory (`KeyDirectoryStore`, migration 10). Runs on
 * the storage thread like the rest of the SQLite store.
 */
import type Database from 'better-sqlite3';
import { bytes, type Row } from './rows.ts';
import type { KeyDirectoryStore, KtNodeRow, KtValueRow } from './storage.ts';

/** A stored node row as the store's interface gives it. */
export function ktNodeRow(r: Row): KtNodeRow {
  const label = r.label as string;
  if (Number(r.kind) === 0) return { label, kind: 'leaf', key: bytes(r.a), valueHash: bytes(r.b) };
  return {
    label,
    kind: 'branch',
    depth: Number(r.depth),
    left: r.left_label as string,
    right: r.right_label as string,
    hash: bytes(r.a),
  };
}

/** The columns of a node row: kind, depth, a, b, left, right. */
export function ktNodeColumns(
  n: KtNodeRow,
): [number, number, Uint8Array, Uint8Array | null, string | null, string | null] {
  return n.kind === 'leaf' ? [0, 256, n.key, n.valueHash, null, null] : [1, n.depth, n.hash, null, n.left, n.right];
}

export function ktValueRow(r: Row): KtValueRow {
  return {
    name: r.name as string,
    mapKey: bytes(r.map_key),
    vrfProof: bytes(r.vrf_proof),
    version: Number(r.version),
    accountKey: bytes(r.account_key),
    deviceListHash: bytes(r.list_hash),
  };
}

export function createSqliteKtStore(db: Database.Database): KeyDirectoryStore {
  const q = {
    keys: db.prepare('SELECT directory_key, vrf_key FROM kt_state WHERE id = 1'),
    setKeys: db.prepare('UPDATE kt_state SET directory_key = ?, vrf_key = ? WHERE id = 1'),
    state: db.prepare('SELECT epoch, root_label FROM kt_state WHERE id = 1'),
    nodes: db.prepare('SELECT * FROM kt_nodes'),
    heads: db.prepare('SELECT epoch, head FROM kt_epochs WHERE epoch >= ? ORDER BY epoch LIMIT ?'),
    lastEpoch: db.prepare('SELECT epoch FROM kt_state WHERE id = 1').pluck(),
    updates: db.prepare('SELECT map_key, value_hash, version FROM kt_updates WHERE epoch = ? ORDER BY map_key'),
    pending: db.prepare('SELECT seq, name FROM kt_pending ORDER BY seq LIMIT ?'),
    account: db.prepare('SELECT account_key, device_list FROM accounts WHERE name = ?'),
    value: db.prepare('SELECT * FROM kt_values WHERE name = ?'),
    claim: db.prepare(
      'UPDATE kt_state SET writer = ?, lease_until = ? WHERE id = 1 AND (writer IS NULL OR writer = ? OR lease_until < ?)',
    ),
    holds: db.prepare('SELECT 1 FROM kt_state WHERE id = 1 AND writer = ? AND epoch = ?'),
    insertEpoch: db.prepare('INSERT INTO kt_epochs (epoch, head) VALUES (?, ?) ON CONFLICT DO NOTHING'),
    insertUpdate: db.prepare('INSERT INTO kt_updates (epoch, map_key, value_hash, version) VALUES (?, ?, ?, ?)'),
    upsertValue: db.prepare(
      `INSERT INTO kt_values (name, map_key, vrf_proof, version, account_key, list_hash) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET version = excluded.version, account_key = excluded.account_key,
         list_hash = excluded.list_hash`,
    ),
    upsertNode: db.prepare(
      `INSERT INTO kt_nodes (label, kind, depth, a, b, left_label, right_label) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (label) DO UPDATE SET kind = excluded.kind, depth = excluded.depth, a = excluded.a,
         b = excluded.b, left_label = excluded.left_label, right_label = excluded.right_label`,
    ),
    setState: db.prepare('UPDATE kt_state SET epoch = ?, root_label = ? WHERE id = 1'),
    dropPending: db.prepare('DELETE FROM kt_pending WHERE seq <= ?'),
    addCosig: db.prepare(
      'INSERT INTO kt_cosignatures (epoch, witness_key, signature) VALUES (?, ?, ?) ON CONFLICT (epoch, witness_key) DO UPDATE SET signature = excluded.signature',
    ),
    cosigs: db.prepare('SELECT witness_key, signature FROM kt_cosignatures WHERE epoch = ? ORDER BY witness_key'),
  };

  const recordKeys = db.transaction((dk: Uint8Array, vk: Uint8Array) => {
    const r = q.keys.get() as Row;
    if (r.directory_key === null) {
      q.setKeys.run(dk, vk);
      return 'recorded' as const;
    }
    const same = Buffer.from(bytes(r.directory_key)).equals(dk) && Buffer.from(bytes(r.vrf_key)).equals(vk);
    return same ? ('match' as const) : ('mismatch' as const);
  });
  const load = db.transaction(() => {
    const s = q.state.get() as Row;
    return {
      epoch: Number(s.epoch),
      rootLabel: (s.root_label as string | null) ?? undefined,
      nodes: (q.nodes.all() as Row[]).map(ktNodeRow),
    };
  });
  const commit = db.transaction((c: Parameters<KeyDirectoryStore['ktCommitEpoch']>[0]) => {
    if (q.holds.get(c.writer, c.epoch - 1) === undefined) return 'conflict' as const;
    if (q.insertEpoch.run(c.epoch, c.head).changes === 0) return 'conflict' as const;
    for (const v of c.values) {
      q.insertUpdate.run(c.epoch, v.mapKey, v.valueHash, v.version);
      q.upsertValue.run(v.name, v.mapKey, v.vrfProof, v.version, v.accountKey, v.deviceListHash);
    }
    for (const n of c.nodes) q.upsertNode.run(n.label, ...ktNodeColumns(n));
    q.setState.run(c.epoch, c.rootLabel ?? null);
    q.dropPending.run(c.pendingUpTo);
    return 'committed' as const;
  });

  return {
    async ktRecordKeys(directoryKey, vrfKey) {
      return recordKeys(directoryKey, vrfKey);
    },
    async ktLoad() {
      return load();
    },
    async ktHeads(from, limit) {
      return (q.heads.all(from, limit) as Row[]).map((r) => ({ epoch: Number(r.epoch), head: bytes(r.head) }));
    },
    async ktLastEpoch() {
      return Number(q.lastEpoch.get());
    },
    async ktUpdates(epoch) {
      return (q.updates.all(epoch) as Row[]).map((r) => ({
        mapKey: bytes(r.map_key),
        valueHash: bytes(r.value_hash),
        version: Number(r.version),
      }));
    },
    async ktPending(limit) {
      const rows = q.pending.all(limit) as Row[];
      const names = [...new Set(rows.map((r) => r.name as string))];
      return { upTo: rows.length === 0 ? 0 : Number((rows[rows.length - 1] as Row).seq), names };
    },
    async ktCandidates(names) {
      const out = [];
      for (const name of names) {
        const a = q.account.get(name) as Row | undefined;
        if (a === undefined) continue;
        const v = q.value.get(name) as Row | undefined;
        out.push({
          name,
          accountKey: bytes(a.account_key),
          deviceList: bytes(a.device_list),
          current: v === undefined ? undefined : ktValueRow(v),
        });
      }
      return out;
    },
    async ktClaimWriter(writer, now, leaseMs) {
      return q.claim.run(writer, now + leaseMs, writer, now).changes > 0;
    },
    async ktCommitEpoch(c) {
      return commit(c);
    },
    async ktValue(name) {
      const v = q.value.get(name) as Row | undefined;
      return v === undefined ? undefined : ktValueRow(v);
    },
    async ktAddCosignature(epoch, key, sig) {
      q.addCosig.run(epoch, key, sig);
    },
    async ktCosignatures(epoch) {
      return (q.cosigs.all(epoch) as Row[]).map((r) => ({ key: bytes(r.witness_key), signature: bytes(r.signature) }));
    },
  };
}
