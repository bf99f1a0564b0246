/**
 * The key-transparency directory of a server node (issue 20; docs/protocol.md §17–§19).
 *
 * Every node holds the map in memory (a `SparseMerkleMap` loaded from the stored nodes) and the
 * log's leaf hashes (one per head). One node at a time is the writer (a lease row in the
 * database, renewed each epoch): every `epochMs` it folds the pending account changes into one
 * epoch (new values, versions + 1), applies them to the map, signs the head and commits heads,
 * updates, values and the changed map nodes in one transaction. Other nodes (and a writer whose
 * commit lost a race) follow by replaying each new epoch's updates from the database and checking
 * the resulting root against the signed head; on any mismatch they reload the stored map.
 */
import { createHash } from 'node:crypto';
import { type CryptoProvider, toBase64Url } from '@parley/protocol';
import {
  decodeSignedTreeHead,
  directoryValueHash,
  encodeMapProof,
  encodeSignedTreeHead,
  encodeTreeHead,
  ktAccountVrfInput,
  ktMapKey,
  logConsistencyProof,
  logLeafHash,
  logRoot,
  type MapNodeStore,
  type SignedTreeHead,
  SparseMerkleMap,
  type StoredMapNode,
  signTreeHead,
  treeHeadHash,
  vrfProofToHash,
  vrfProve,
} from '@parley/protocol/kt';
import { ServerError } from '../errors.ts';
import type { KeyDirectoryStore, KtNodeRow, KtValueRow } from '../store/storage.ts';
import type { DirectoryKeys } from './keys.ts';

const nodeSha256 = (d: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(d).digest());

/** Most pending entries folded into one epoch. */
export const KT_MAX_UPDATES_PER_EPOCH = 10_000;

/** What `kt-lookup` answers (and the `kt` field of key answers). */
export interface KtLookupAnswer {
  head: string;
  vrfProof: string;
  mapProof: string;
  value?: { version: number; accountKey: string; deviceListHash: string };
}

/** A MapNodeStore that serves the loaded nodes once and records what each batch writes. */
class RecordingStore implements MapNodeStore {
  loaded = new Map<string, StoredMapNode>();
  written = new Map<string, StoredMapNode>();
  root: string | undefined;
  get(label: string): StoredMapNode | undefined {
    return this.loaded.get(label);
  }
  put(label: string, node: StoredMapNode): void {
    this.written.set(label, node);
  }
  getRoot(): string | undefined {
    return this.root;
  }
  setRoot(label: string): void {
    this.root = label;
  }
}

function nodeRow(label: string, n: StoredMapNode): KtNodeRow {
  return n.kind === 'leaf'
    ? { label, kind: 'leaf', key: n.key, valueHash: n.valueHash }
    : { label, kind: 'branch', depth: n.depth, left: n.left, right: n.right, hash: n.hash };
}

export interface DirectoryOptions {
  readonly store: KeyDirectoryStore;
  readonly keys: DirectoryKeys;
  readonly provider: CryptoProvider;
  readonly clock: () => number;
  /** This node's id (the writer lease names it). */
  readonly node: string;
  readonly epochMs: number;
  /** Published to clients in `kt-head`: heads need this many cosignatures from `witnessKeys`. */
  readonly requireWitnesses: number;
  readonly witnessKeys: readonly Uint8Array[];
  readonly onError?: (err: unknown) => void;
}

export class KeyDirectory {
  readonly #o: DirectoryOptions;
  #store = new RecordingStore();
  #map = new SparseMerkleMap({ hash: nodeSha256, store: this.#store });
  /** Heads 0..epoch in order (encoded) and their log leaf hashes. */
  #heads: Uint8Array[] = [];
  #leaves: Uint8Array[] = [];
  #timer: NodeJS.Timeout | undefined;
  #busy: Promise<unknown> = Promise.resolve();

  private constructor(o: DirectoryOptions) {
    this.#o = o;
  }

  /** Loads the stored directory (refusing a key file other than the recorded one). */
  static async open(o: DirectoryOptions): Promise<KeyDirectory> {
    const recorded = await o.store.ktRecordKeys(o.keys.directoryKey, o.keys.vrfKey);
    if (recorded === 'mismatch') {
      throw new Error(
        'the key-transparency key file differs from the keys this database was published under: use the original kt-keys.json (every node of a PostgreSQL deployment needs a copy of the same file)',
      );
    }
    const d = new KeyDirectory(o);
    await d.#reload();
    return d;
  }

  /** The current epoch (-1 before the first). */
  get epoch(): number {
    return this.#heads.length - 1;
  }

  /** The directory (tree-head signing) public key. */
  get directoryKey(): Uint8Array {
    return this.#o.keys.directoryKey;
  }

  /** The directory's public keys, base64url (the register answer's `ktKey`/`ktVrfKey`). */
  publicKeys(): { ktKey: string; ktVrfKey: string } {
    return { ktKey: toBase64Url(this.#o.keys.directoryKey), ktVrfKey: toBase64Url(this.#o.keys.vrfKey) };
  }

  /** Reads the stored map and every head, and checks the map's root against the last head. */
  async #reload(): Promise<void> {
    const snap = await this.#o.store.ktLoad();
    const store = new RecordingStore();
    for (const n of snap.nodes) {
      const { label, ...rest } = n;
      store.loaded.set(label, rest as StoredMapNode);
    }
    store.root = snap.rootLabel;
    const map = SparseMerkleMap.load(store, { hash: nodeSha256 });
    store.loaded = new Map();
    const heads: Uint8Array[] = [];
    for (let from = 0; from <= snap.epoch; ) {
      const page = await this.#o.store.ktHeads(from, 10_000);
      if (page.length === 0) break;
      for (const h of page) if (h.epoch <= snap.epoch) heads.push(h.head);
      from = (page[page.length - 1] as { epoch: number }).epoch + 1;
    }
    if (heads.length !== snap.epoch + 1) throw new Error('the key-transparency heads are incomplete');
    const last = heads[heads.length - 1];
    if (last !== undefined) {
      const root = decodeSignedTreeHead(last).head.mapRoot;
      if (!Buffer.from(root).equals(Buffer.from(map.root()))) {
        throw new Error('the stored key-transparency map does not match its last signed head');
      }
    }
    this.#store = store;
    this.#map = map;
    this.#heads = heads;
    this.#leaves = heads.map((h) => logLeafHash(h.subarray(0, 121), nodeSha256));
  }

  /** Applies epochs other nodes committed (replaying their updates); reloads on any mismatch. */
  async catchUp(): Promise<void> {
    const last = await this.#o.store.ktLastEpoch();
    while (this.epoch < last) {
      const next = this.epoch + 1;
      const [h] = await this.#o.store.ktHeads(next, 1);
      if (h === undefined) break;
      const updates = await this.#o.store.ktUpdates(next);
      this.#map.applyBatch(updates.map((u) => ({ key: u.mapKey, valueHash: u.valueHash })));
      this.#store.written.clear();
      const signed = decodeSignedTreeHead(h.head);
      if (!Buffer.from(signed.head.mapRoot).equals(Buffer.from(this.#map.root()))) {
        await this.#reload();
        return;
      }
      this.#heads.push(h.head);
      this.#leaves.push(logLeafHash(h.head.subarray(0, 121), nodeSha256));
    }
  }

  /** Runs `fn` after every earlier publish/catch-up (one at a time per node). */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(fn, fn);
    this.#busy = run.catch(() => {});
    return run;
  }

  /**
   * One epoch now, if this node holds (or takes) the writer's lease: publishes when there are
   * pending changes or no head yet. Resolves to the published epoch, or undefined.
   */
  publish(): Promise<number | undefined> {
    return this.#serial(async () => {
      const o = this.#o;
      const now = o.clock();
      if (!(await o.store.ktClaimWriter(o.node, now, Math.max(3 * o.epochMs, 5_000)))) {
        await this.catchUp();
        return undefined;
      }
      await this.catchUp();
      const pending = await o.store.ktPending(KT_MAX_UPDATES_PER_EPOCH);
      if (pending.names.length === 0 && this.epoch >= 0) return undefined;
      const candidates = await o.store.ktCandidates(pending.names);
      const values: (KtValueRow & { valueHash: Uint8Array })[] = [];
      for (const c of candidates) {
        const listHash = nodeSha256(c.deviceList);
        const cur = c.current;
        if (
          cur !== undefined &&
          Buffer.from(cur.accountKey).equals(Buffer.from(c.accountKey)) &&
          Buffer.from(cur.deviceListHash).equals(Buffer.from(listHash))
        ) {
          continue;
        }
        let mapKey = cur?.mapKey;
        let vrfProof = cur?.vrfProof;
        if (mapKey === undefined || vrfProof === undefined) {
          vrfProof = vrfProve(o.keys.vrfSecret, ktAccountVrfInput(c.name));
          mapKey = ktMapKey(vrfProofToHash(vrfProof));
        }
        const value = { version: (cur?.version ?? 0) + 1, accountKey: c.accountKey, deviceListHash: listHash };
        values.push({ name: c.name, mapKey, vrfProof, ...value, valueHash: directoryValueHash(value, nodeSha256) });
      }
      const epoch = this.epoch + 1;
      const mapRoot = this.#map.applyBatch(values.map((v) => ({ key: v.mapKey, valueHash: v.valueHash })));
      const prev = this.#heads[this.#heads.length - 1];
      const prevTime = prev === undefined ? 0 : decodeSignedTreeHead(prev).head.timeMs;
      const signed = await signTreeHead(o.provider, o.keys.directorySeed, {
        epoch,
        mapRoot,
        logSize: this.#leaves.length,
        logRoot: logRoot(this.#leaves, nodeSha256),
        // Never earlier than the previous head (a clock stepping back must not break monotonicity).
        timeMs: Math.max(now, prevTime),
        previousHeadHash:
          prev === undefined ? new Uint8Array(32) : treeHeadHash(decodeSignedTreeHead(prev).head, nodeSha256),
      });
      const head = encodeSignedTreeHead(signed);
      const nodes = [...this.#store.written].map(([label, n]) => nodeRow(label, n));
      this.#store.written.clear();
      let outcome: 'committed' | 'conflict';
      try {
        outcome = await o.store.ktCommitEpoch({
          epoch,
          head,
          pendingUpTo: pending.upTo,
          values,
          nodes,
          rootLabel: this.#store.root,
          writer: o.node,
        });
      } catch (err) {
        await this.#reload();
        throw err;
      }
      if (outcome === 'conflict') {
        await this.#reload();
        return undefined;
      }
      this.#heads.push(head);
      this.#leaves.push(logLeafHash(encodeTreeHead(signed.head), nodeSha256));
      return epoch;
    });
  }

  /** Publishes every `epochMs` (and once now). */
  start(): void {
    const tick = () => {
      this.publish().catch((err: unknown) => this.#o.onError?.(err));
    };
    tick();
    this.#timer = setInterval(tick, this.#o.epochMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#busy;
    // Hands the lease back (a lease ending at 0 is free), so another node need not wait it out.
    await this.#o.store.ktClaimWriter(this.#o.node, 0, 0).catch(() => {});
  }

  #latest(): Uint8Array {
    const h = this.#heads[this.#heads.length - 1];
    if (h === undefined) throw new ServerError('KT_UNAVAILABLE', 'the key directory has no signed head yet');
    return h;
  }

  /** The `kt-head` answer: the latest head, the log consistency proof from `from`, cosignatures. */
  async head(from: number | undefined): Promise<{
    head: string;
    proof?: string[];
    cosignatures: { key: string; sig: string }[];
    requireWitnesses: number;
    witnessKeys: string[];
  }> {
    await this.#serial(() => this.catchUp());
    const head = this.#latest();
    const epoch = this.epoch;
    if (from !== undefined && from > epoch) {
      throw new ServerError('BAD_FRAME', `epoch ${from} is beyond the latest (${epoch})`);
    }
    const cosigs = await this.#o.store.ktCosignatures(epoch);
    return {
      head: toBase64Url(head),
      ...(from === undefined || from === epoch
        ? {}
        : { proof: logConsistencyProof(this.#leaves.slice(0, epoch), from, nodeSha256).map(toBase64Url) }),
      cosignatures: cosigs.map((c) => ({ key: toBase64Url(c.key), sig: toBase64Url(c.signature) })),
      requireWitnesses: this.#o.requireWitnesses,
      witnessKeys: this.#o.witnessKeys.map(toBase64Url),
    };
  }

  /** The lookup proof of `name` against the latest head (`kt-lookup`, the `kt` field). */
  async lookup(name: string): Promise<KtLookupAnswer> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const row = await this.#o.store.ktValue(name);
      const answer = await this.#serial(async () => {
        const head = this.#latest();
        const vrfProof = row?.vrfProof ?? vrfProve(this.#o.keys.vrfSecret, ktAccountVrfInput(name));
        const mapKey = row?.mapKey ?? ktMapKey(vrfProofToHash(vrfProof));
        const inMap = this.#map.get(mapKey);
        const value =
          row === undefined
            ? undefined
            : { version: row.version, accountKey: row.accountKey, deviceListHash: row.deviceListHash };
        const expected = value === undefined ? undefined : directoryValueHash(value, nodeSha256);
        const agrees =
          expected === undefined
            ? inMap === undefined
            : inMap !== undefined && Buffer.from(inMap).equals(Buffer.from(expected));
        if (!agrees) return undefined;
        const out: KtLookupAnswer = {
          head: toBase64Url(head),
          vrfProof: toBase64Url(vrfProof),
          mapProof: toBase64Url(encodeMapProof(this.#map.prove(mapKey))),
        };
        if (value !== undefined) {
          out.value = {
            version: value.version,
            accountKey: toBase64Url(value.accountKey),
            deviceListHash: toBase64Url(value.deviceListHash),
          };
        }
        return out;
      });
      if (answer !== undefined) return answer;
      // This node's map is behind the stored value (another node published): catch up, retry.
      await this.#serial(() => this.catchUp());
    }
    throw new ServerError('KT_UNAVAILABLE', 'the key directory is being updated; retry');
  }

  /** The audit record of epoch `epoch`: its signed head and the updates it applied. */
  async audit(epoch: number): Promise<{
    epoch: number;
    head: string;
    updates: { key: string; value: string; version: number }[];
  }> {
    const [h] = await this.#o.store.ktHeads(epoch, 1);
    if (h === undefined || h.epoch !== epoch) throw new ServerError('BAD_FRAME', `no epoch ${epoch}`);
    const updates = await this.#o.store.ktUpdates(epoch);
    return {
      epoch,
      head: toBase64Url(h.head),
      updates: updates.map((u) => ({
        key: toBase64Url(u.mapKey),
        value: toBase64Url(u.valueHash),
        version: u.version,
      })),
    };
  }

  /** Keeps a verified cosignature unless `max` other witness keys already cosigned `epoch`. */
  async addCosignature(epoch: number, key: Uint8Array, sig: Uint8Array, max: number): Promise<boolean> {
    const held = await this.#o.store.ktCosignatures(epoch);
    if (held.length >= max && !held.some((c) => Buffer.from(c.key).equals(Buffer.from(key)))) return false;
    await this.#o.store.ktAddCosignature(epoch, key, sig);
    return true;
  }

  /** The signed head of `epoch` (for checking a witness's cosignature). */
  async signedHead(epoch: number): Promise<SignedTreeHead | undefined> {
    const [h] = await this.#o.store.ktHeads(epoch, 1);
    return h === undefined || h.epoch !== epoch ? undefined : decodeSignedTreeHead(h.head);
  }
}
