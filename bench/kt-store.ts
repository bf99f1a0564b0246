/**
 * The server half of `npm run bench -- kt`: a real server directory on SQLite. Registers
 * `accounts` accounts (straight into the store) across 20 epochs, then measures
 * - audit replay throughput: an auditor's work per epoch (download `GET /v1/kt/audit?epoch=N`,
 *   verify the head signature, replay the updates on its own map, recompute the log root and
 *   compare the roots), in epochs/s, against the rate the directory grows (one epoch per 10 s);
 * - storage bytes per account of the directory tables (`kt_*`, SQLite dbstat), against the raw
 *   32 + 32 bytes of a map key and value hash.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accountNameSkeleton, fromBase64Url } from '@parley/protocol';
import {
  decodeSignedTreeHead,
  logLeafHash,
  logRoot,
  SparseMerkleMap,
  TREE_HEAD_BODY_LENGTH,
  verifyTreeHead,
} from '@parley/protocol/kt';
import { createNodeCryptoProvider } from '@parley/protocol/node';
import { SQLITE_FILE, startServer } from '@parley/server';
import Database from 'better-sqlite3';
import { type Figure, report } from './report.ts';

const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());

export async function runKtStore(accounts: number): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-kt-'));
  const server = await startServer({ port: 0, dataDir: join(dir, 'data'), logLevel: 'silent', ktEpochMs: 3_600_000 });
  const out: Figure[] = [];
  try {
    const provider = createNodeCryptoProvider();
    await server.kt.publish();
    const perEpoch = Math.ceil(accounts / 20);
    for (let i = 0; i < accounts; i++) {
      const name = `acct${i}`;
      await server.storage.createAccount({
        name,
        accountKey: randomBytes(32),
        deviceList: randomBytes(200),
        listVersion: 1,
        createdAt: 1,
        skeleton: accountNameSkeleton(name),
        devices: [{ account: name, id: 1, identity: randomBytes(128) }],
      });
      if ((i + 1) % perEpoch === 0 || i === accounts - 1) await server.kt.publish();
    }
    const info = (await (await fetch(`${server.url}/v1/kt/audit`)).json()) as { latest: number; ktKey: string };
    const ktKey = fromBase64Url('ktKey', info.ktKey);
    const wall = performance.now();
    const map = new SparseMerkleMap({ hash: sha });
    const leaves: Uint8Array[] = [];
    for (let e = 0; e <= info.latest; e++) {
      const rec = (await (await fetch(`${server.url}/v1/kt/audit?epoch=${e}`)).json()) as {
        head: string;
        updates: { key: string; value: string }[];
      };
      const bytes = fromBase64Url('head', rec.head);
      const signed = decodeSignedTreeHead(bytes);
      await verifyTreeHead(provider, ktKey, signed);
      if (!Buffer.from(logRoot(leaves, sha)).equals(Buffer.from(signed.head.logRoot))) throw new Error('log root');
      const root = map.applyBatch(
        rec.updates.map((u) => ({ key: fromBase64Url('k', u.key), valueHash: fromBase64Url('v', u.value) })),
      );
      if (!Buffer.from(root).equals(Buffer.from(signed.head.mapRoot))) throw new Error(`root of epoch ${e}`);
      leaves.push(logLeafHash(bytes.subarray(0, TREE_HEAD_BODY_LENGTH), sha));
    }
    const seconds = (performance.now() - wall) / 1000;
    out.push(
      report(
        `kt audit throughput, ${info.latest + 1} epochs of ~${perEpoch} updates (epochs/s vs growth 0.1/s)`,
        (info.latest + 1) / seconds,
        'epochs/s',
        0.1,
      ),
    );
    const db = new Database(join(dir, 'data', SQLITE_FILE), { readonly: true });
    const rows = db
      .prepare(
        "SELECT name, SUM(pgsize) AS bytes FROM dbstat WHERE name LIKE 'kt_%' OR name LIKE 'sqlite_autoindex_kt_%' GROUP BY name",
      )
      .all() as { name: string; bytes: number }[];
    db.close();
    const total = rows.reduce((a, r) => a + r.bytes, 0);
    process.stderr.write(`kt: directory tables ${JSON.stringify(rows)}\n`);
    out.push(
      report(`kt directory storage per account at ${accounts} accounts (SQLite)`, total / accounts, 'bytes', 64),
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
