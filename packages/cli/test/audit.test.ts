/**
 * Issue 20: `parley audit` against a real server. An honest directory audits clean (and resumes
 * from its state file); an operator editing the database — rewriting an old epoch, removing a key
 * from the map under a properly signed head, sending a version back, forging a head signature,
 * re-signing an epoch the auditor already saw — is caught, and each attack passes with the one
 * check that catches it turned off (so the test is real).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { accountNameSkeleton, fromBase64Url } from '@parley/protocol';
import {
  decodeSignedTreeHead,
  encodeSignedTreeHead,
  SparseMerkleMap,
  signTreeHead,
  type TreeHead,
} from '@parley/protocol/kt';
import { createNodeCryptoProvider } from '@parley/protocol/node';
import { type RunningServer, SQLITE_FILE, startServer } from '@parley/server';
import Database from 'better-sqlite3';
import { type AuditChecks, AuditFailure, auditOnce } from '../src/commands/audit.ts';

const provider = createNodeCryptoProvider();
const rand = (n: number) => new Uint8Array(randomBytes(n));

function account(name: string) {
  return {
    name,
    accountKey: rand(32),
    deviceList: rand(100),
    listVersion: 1,
    createdAt: 1000,
    skeleton: accountNameSkeleton(name),
    devices: [{ account: name, id: 1, identity: rand(128) }],
  };
}

/** A server with three epochs after the first: accounts a0..a5 created, a0 and a1 changed. */
async function setup(): Promise<{ server: RunningServer; dir: string; db: Database.Database; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-audit-'));
  const server = await startServer({ port: 0, dataDir: join(dir, 'data'), logLevel: 'silent', ktEpochMs: 3_600_000 });
  await server.kt.publish();
  for (const n of ['a0', 'a1', 'a2']) assert.equal(await server.storage.createAccount(account(`kt${n}`)), 'created');
  await server.kt.publish();
  for (const n of ['a3', 'a4', 'a5']) assert.equal(await server.storage.createAccount(account(`kt${n}`)), 'created');
  await server.kt.publish();
  for (const n of ['kta0', 'kta1']) {
    const r = await server.storage.updateDeviceList(n, 1, { bytes: rand(90), version: 2, devices: [] });
    assert.equal(r.status, 'updated');
  }
  assert.equal(await server.kt.publish(), 3);
  const db = new Database(join(dir, 'data', SQLITE_FILE));
  db.pragma('busy_timeout = 5000');
  return {
    server,
    dir,
    db,
    async close() {
      db.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The head of `epoch` as stored, and a writer of a replacement signed with the directory's real key. */
function heads(dir: string, db: Database.Database) {
  const keys = JSON.parse(readFileSync(join(dir, 'data', 'kt-keys.json'), 'utf8')) as { directorySeed: string };
  const seed = fromBase64Url('seed', keys.directorySeed);
  return {
    get(epoch: number) {
      const row = db.prepare('SELECT head FROM kt_epochs WHERE epoch = ?').get(epoch) as { head: Buffer };
      return decodeSignedTreeHead(new Uint8Array(row.head));
    },
    async resign(epoch: number, head: TreeHead) {
      const signed = await signTreeHead(provider, seed, head);
      db.prepare('UPDATE kt_epochs SET head = ? WHERE epoch = ?').run(Buffer.from(encodeSignedTreeHead(signed)), epoch);
    },
  };
}

async function caught(server: RunningServer, pattern: RegExp, checks?: Partial<AuditChecks>, stateFile?: string) {
  await assert.rejects(auditOnce({ server: server.url, stateFile, checks }), (err: unknown) => {
    assert.ok(err instanceof AuditFailure, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

describe('parley audit (issue 20)', () => {
  it('an honest directory audits clean, resumes from its state, and a witness cosigns', async () => {
    const s = await setup();
    try {
      const state = join(s.dir, 'audit-state.json');
      const witness = join(s.dir, 'witness.json');
      assert.equal(await auditOnce({ server: s.server.url, stateFile: state, witnessFile: witness }), 3);
      assert.equal(await s.server.storage.createAccount(account('ktlate')), 'created');
      assert.equal(await s.server.kt.publish(), 4);
      assert.equal(await auditOnce({ server: s.server.url, stateFile: state, witnessFile: witness }), 4);
      assert.equal((await s.server.storage.ktCosignatures(4)).length, 1);
      assert.equal((await s.server.storage.ktCosignatures(0)).length, 1);
      // Without state, the same result from scratch.
      assert.equal(await auditOnce({ server: s.server.url }), 4);
    } finally {
      await s.close();
    }
  });

  it('catches an old epoch rewritten in the database (its updates changed)', async () => {
    const s = await setup();
    try {
      s.db.prepare('UPDATE kt_updates SET value_hash = ? WHERE epoch = 1').run(Buffer.alloc(32, 9));
      await caught(s.server, /epoch 1: the map root is not the replay/);
      assert.equal(await auditOnce({ server: s.server.url, checks: { roots: false } }), 3);
    } finally {
      await s.close();
    }
  });

  it('catches a key removed from the map under a properly signed head', async () => {
    const s = await setup();
    try {
      // The operator (holding the directory key) signs epoch 3 over the map without one key.
      const map = new SparseMerkleMap();
      const rows = s.db
        .prepare('SELECT map_key, value_hash FROM kt_values JOIN kt_updates USING (map_key) ORDER BY epoch')
        .all() as {
        map_key: Buffer;
        value_hash: Buffer;
      }[];
      const latest = new Map(rows.map((r) => [r.map_key.toString('hex'), r.value_hash]));
      const [dropped] = latest.keys();
      latest.delete(dropped as string);
      map.applyBatch(
        [...latest].map(([k, v]) => ({ key: new Uint8Array(Buffer.from(k, 'hex')), valueHash: new Uint8Array(v) })),
      );
      const h = heads(s.dir, s.db);
      await h.resign(3, { ...h.get(3).head, mapRoot: map.root() });
      await caught(s.server, /epoch 3: the map root is not the replay/);
      assert.equal(await auditOnce({ server: s.server.url, checks: { roots: false } }), 3);
    } finally {
      await s.close();
    }
  });

  it('catches a version going back', async () => {
    const s = await setup();
    try {
      s.db.prepare('UPDATE kt_updates SET version = 1 WHERE epoch = 3').run();
      await caught(s.server, /epoch 3: the version of key [0-9a-f]+ went from 1 to 1/);
      assert.equal(await auditOnce({ server: s.server.url, checks: { versions: false } }), 3);
    } finally {
      await s.close();
    }
  });

  it('catches a forged head signature', async () => {
    const s = await setup();
    try {
      const row = s.db.prepare('SELECT head FROM kt_epochs WHERE epoch = 2').get() as { head: Buffer };
      const head = Buffer.from(row.head);
      head[head.length - 1] = (head[head.length - 1] as number) ^ 1;
      s.db.prepare('UPDATE kt_epochs SET head = ? WHERE epoch = 2').run(head);
      await caught(s.server, /epoch 2: the head signature does not verify/);
      assert.equal(await auditOnce({ server: s.server.url, checks: { signatures: false } }), 3);
    } finally {
      await s.close();
    }
  });

  it('catches an audited epoch re-signed differently (a resumed audit compares), and a broken chain', async () => {
    const s = await setup();
    try {
      const state = join(s.dir, 'state.json');
      assert.equal(await auditOnce({ server: s.server.url, stateFile: state }), 3);
      const h = heads(s.dir, s.db);
      await h.resign(3, { ...h.get(3).head, timeMs: h.get(3).head.timeMs + 1 });
      await caught(s.server, /epoch 3: the server now serves another head/, undefined, state);
      // A fresh audit sees a consistent history up to 3 (the operator re-signed its tip) ...
      assert.equal(await auditOnce({ server: s.server.url }), 3);
      // ... but a rewritten middle breaks the chain for everyone.
      await h.resign(1, { ...h.get(1).head, timeMs: h.get(1).head.timeMs + 1 });
      await caught(s.server, /epoch 2: the head does not name the previous head/);
      await caught(s.server, /epoch 2: the head log is not the log/, { chain: false });
      assert.equal(await auditOnce({ server: s.server.url, checks: { chain: false, log: false } }), 3);
    } finally {
      await s.close();
    }
  });
});
