/**
 * `npm run bench -- kt [--accounts N]`: the key-transparency map at directory scale. Builds a
 * sparse Merkle map of N random 32-byte keys (default 1,000,000; the server-side builder hashes
 * with node:crypto), then publishes an epoch of 10,000 updates (half new accounts, half changed
 * values), and measures lookup proofs: encoded size and client verification time with the
 * browser-capable `@noble/hashes` SHA-256. Baselines, measured in the same run:
 * - build and epoch: node:crypto SHA-256 of as many 66-byte inputs as a naive rebuild needs
 *   (2N − 1 nodes; 10,000 × ⌈log2 N⌉ path nodes recomputed per update with no sharing);
 * - proof size: the 2 KB target of issue 20;
 * - verification: the same verification with node:crypto SHA-256 injected.
 * Times are this process's CPU seconds (user + system), steadier than wall-clock time when other
 * work shares the 2 cores; wall-clock times go to stderr.
 */
import { hash, randomBytes } from 'node:crypto';
import {
  decodeMapProof,
  encodeMapProof,
  type KtHashFunction,
  type MapUpdate,
  SparseMerkleMap,
  verifyMapProof,
} from '@parley/protocol/kt';
import { runKtStore } from './kt-store.ts';
import { type Figure, report } from './report.ts';

/** node:crypto's one-shot SHA-256 (2.3× cheaper per call than `createHash` here). */
const nodeSha256: KtHashFunction = (data) => {
  const d = hash('sha256', data, 'buffer');
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
};

/** Runs `step`, returning its CPU seconds (wall-clock seconds to stderr under `label`). */
function timed(label: string, step: () => void): number {
  const wall = performance.now();
  const cpu = process.cpuUsage();
  step();
  const used = process.cpuUsage(cpu);
  const seconds = (used.user + used.system) / 1e6;
  process.stderr.write(
    `kt: ${label}: ${seconds.toFixed(3)} s CPU, ${((performance.now() - wall) / 1000).toFixed(3)} s wall\n`,
  );
  return seconds;
}

function hashInputs(count: number): number {
  const buf = new Uint8Array(66);
  return timed(`baseline: node:crypto SHA-256 of ${count} inputs`, () => {
    for (let i = 0; i < count; i++) {
      buf[0] = i & 0xff;
      nodeSha256(buf);
    }
  });
}

function randomUpdates(n: number): MapUpdate[] {
  const pool = randomBytes(n * 64);
  return Array.from({ length: n }, (_, i) => ({
    key: new Uint8Array(pool.buffer, pool.byteOffset + i * 64, 32),
    valueHash: new Uint8Array(pool.buffer, pool.byteOffset + i * 64 + 32, 32),
  }));
}

/** Runs the kt benchmark and returns its figures. */
export async function runKt(args: { accounts?: number; serverAccounts?: number }): Promise<Figure[]> {
  const n = args.accounts ?? 1_000_000;
  const out: Figure[] = [];
  process.stderr.write(`kt: building a map of ${n} accounts\n`);
  const initial = randomUpdates(n);
  const heapBefore = process.memoryUsage().heapUsed;
  const map = new SparseMerkleMap({ hash: nodeSha256 });
  // The directory's first epochs: batches of 100,000.
  const build = timed('build', () => {
    for (let i = 0; i < n; i += 100_000) map.applyBatch(initial.slice(i, i + 100_000));
  });
  globalThis.gc?.();
  const heapPerAccount = (process.memoryUsage().heapUsed - heapBefore) / n;
  out.push(report(`kt map build ${n} accounts`, build, 's', hashInputs(2 * n - 1)));
  out.push(report('kt map memory per account', heapPerAccount, 'bytes', 64));

  const depth = Math.ceil(Math.log2(n));
  const epochs: number[] = [];
  for (let e = 0; e < 5; e++) {
    // Distinct existing keys spread over the map (fewer when the map is small).
    const changedCount = Math.min(5_000, n);
    const stride = Math.floor(n / changedCount);
    const fresh = randomUpdates(10_000 - changedCount);
    const changed = Array.from({ length: changedCount }, (_, i) => ({
      key: (initial[(i * stride + e) % n] as MapUpdate).key,
      valueHash: randomBytes(32),
    }));
    epochs.push(timed(`epoch ${e}`, () => map.applyBatch([...fresh, ...changed])));
  }
  epochs.sort((a, b) => a - b);
  const median = epochs[2] as number;
  out.push(
    report(`kt epoch publish 10000 updates at ${n} accounts (median of 5)`, median, 's', hashInputs(10_000 * depth)),
  );

  const root = map.root();
  const lookups = 2_000;
  const proofs: { key: Uint8Array; bytes: Uint8Array }[] = [];
  let total = 0;
  for (let i = 0; i < lookups; i++) {
    // Half members, half absent keys.
    const key = i % 2 === 0 ? (initial[(i * 7919) % n] as MapUpdate).key : randomBytes(32);
    const bytes = encodeMapProof(map.prove(key));
    total += bytes.length;
    proofs.push({ key, bytes });
  }
  out.push(report(`kt lookup proof size at ${n} accounts (mean)`, total / lookups, 'bytes', 2048));

  const verifyAll = (hash?: KtHashFunction) =>
    timed(`verify ${lookups} proofs with ${hash === undefined ? '@noble/hashes' : 'node:crypto'}`, () => {
      for (const p of proofs) verifyMapProof(root, p.key, decodeMapProof(p.bytes), hash);
    }) / lookups;
  verifyAll();
  verifyAll(nodeSha256);
  const noble = verifyAll();
  const native = verifyAll(nodeSha256);
  out.push(report(`kt lookup proof verify at ${n} accounts (@noble/hashes)`, noble * 1e6, 'us', native * 1e6));
  out.push(...(await runKtStore(args.serverAccounts ?? 2_000)));
  return out;
}
