/**
 * The verifiable map of key transparency: a sparse Merkle map from 32-byte keys (VRF outputs) to
 * 32-byte value hashes, stored as a compressed binary prefix tree (a Patricia trie, as in AKD and
 * the KEYTRANS prefix tree): a branch node exists only where the keys below it split, so a lookup
 * proof carries one sibling hash per branch on the path, about log2(N) of them.
 *
 * Hashing (docs/protocol.md, "Key transparency: log, map, tree heads"); bit i of a key is
 * `(key[i >> 3] >> (7 - (i & 7))) & 1` (most significant bit first):
 * - leaf:   `SHA-256(0x00 ‖ key(32) ‖ valueHash(32))`
 * - branch: `SHA-256(0x01 ‖ u8 depth ‖ left(32) ‖ right(32))`, where `depth` (0..255) is the bit
 *   index at which the branch's two subtrees differ (left holds the keys with bit 0 there);
 *   binding the depth fixes every key's lookup path, so one root cannot prove both membership
 *   and non-membership of one key.
 * - the empty map: `SHA-256(0x02)`; a map of one key has that key's leaf hash as its root.
 *
 * A lookup proof for key K lists (depth, sibling hash) for every branch from the root down to
 * where K's path ends, then that end: the leaf there (its key and value hash) or nothing (the
 * empty map). K is present when the leaf's key is K, absent when it is another key.
 */
import { compareBytes, constantTimeEqual } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import { KT_HASH_LENGTH, type KtHashFunction, ktSha256 } from './hash.ts';

/** Key length in bits: depths run 0..255. */
const KEY_BITS = 256;
/** Encoding version of a lookup proof. */
export const MAP_PROOF_VERSION = 1;
/** Largest encoded proof: header, 256 siblings of 33 bytes, the leaf. */
export const MAP_PROOF_MAX_BYTES = 3 + KEY_BITS * (1 + KT_HASH_LENGTH) + 1 + 2 * KT_HASH_LENGTH;

/** One key's new value in an epoch. */
export interface MapUpdate {
  readonly key: Uint8Array;
  readonly valueHash: Uint8Array;
}

/** A lookup proof: the path of `key` from the root, and where it ends. */
export interface MapProof {
  /** Branches from the root down: the depth each splits at and the hash of the other side. */
  readonly siblings: readonly { readonly depth: number; readonly hash: Uint8Array }[];
  /** The leaf the path ends at (`null` only for the empty map). */
  readonly leaf: { readonly key: Uint8Array; readonly valueHash: Uint8Array } | null;
}

/** What verification established about the key. */
export type MapLookupResult = { readonly present: true; readonly valueHash: Uint8Array } | { readonly present: false };

interface Leaf {
  readonly kind: 0;
  readonly key: Uint8Array;
  readonly valueHash: Uint8Array;
  readonly hash: Uint8Array;
}
interface Branch {
  readonly kind: 1;
  readonly depth: number;
  /** A key under the branch (its leftmost): the branch's prefix is its first `depth` bits. */
  readonly anyKey: Uint8Array;
  readonly left: MapNode;
  readonly right: MapNode;
  readonly hash: Uint8Array;
}
type MapNode = Leaf | Branch;

/** A node as a store keeps it. Children are named by their labels (`mapNodeLabel`). */
export type StoredMapNode =
  | { readonly kind: 'leaf'; readonly key: Uint8Array; readonly valueHash: Uint8Array }
  | {
      readonly kind: 'branch';
      readonly depth: number;
      readonly left: string;
      readonly right: string;
      readonly hash: Uint8Array;
    };

/**
 * Where the map's nodes persist (a SQL table on the server). A node's label is stable for the
 * map's life: keys are never removed, so a branch at (depth, prefix) only ever changes its hash.
 * The root's label is kept under the label `''`, as a leaf-less pointer entry (`rootLabel`).
 */
export interface MapNodeStore {
  get(label: string): StoredMapNode | undefined;
  put(label: string, node: StoredMapNode): void;
  /** The root node's label, or undefined for the empty map. */
  getRoot(): string | undefined;
  setRoot(label: string): void;
}

/** An in-memory `MapNodeStore`. */
export class MemoryMapNodeStore implements MapNodeStore {
  readonly nodes = new Map<string, StoredMapNode>();
  #root: string | undefined;
  get(label: string): StoredMapNode | undefined {
    return this.nodes.get(label);
  }
  put(label: string, node: StoredMapNode): void {
    this.nodes.set(label, node);
  }
  getRoot(): string | undefined {
    return this.#root;
  }
  setRoot(label: string): void {
    this.#root = label;
  }
}

function bit(key: Uint8Array, i: number): number {
  return ((key[i >> 3] as number) >> (7 - (i & 7))) & 1;
}

/** Number of leading bits `a` and `b` share (256 when equal). */
function commonPrefix(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const x = (a[i] as number) ^ (b[i] as number);
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return KEY_BITS;
}

/**
 * A node's store label: `depth/hex(prefix)` where the prefix is the first `depth` bits (the
 * remaining bits of the last byte zero); a leaf's depth is 256 and its prefix the whole key.
 */
export function mapNodeLabel(depth: number, key: Uint8Array): string {
  const bytes = key.slice(0, Math.ceil(depth / 8));
  if (depth % 8 !== 0) bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) & (0xff << (8 - (depth % 8)));
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return `${depth}/${hex}`;
}

/** The root of the empty map: `SHA-256(0x02)`. */
export function emptyMapRoot(hash: KtHashFunction = ktSha256): Uint8Array {
  return hash(new Uint8Array([0x02]));
}

/** Leaf hash `SHA-256(0x00 ‖ key ‖ valueHash)`. */
export function mapLeafHash(key: Uint8Array, valueHash: Uint8Array, hash: KtHashFunction = ktSha256): Uint8Array {
  const buf = new Uint8Array(1 + 2 * KT_HASH_LENGTH);
  buf.set(key, 1);
  buf.set(valueHash, 1 + KT_HASH_LENGTH);
  return hash(buf);
}

/** Branch hash `SHA-256(0x01 ‖ u8 depth ‖ left ‖ right)`. */
export function mapBranchHash(
  depth: number,
  left: Uint8Array,
  right: Uint8Array,
  hash: KtHashFunction = ktSha256,
): Uint8Array {
  const buf = new Uint8Array(2 + 2 * KT_HASH_LENGTH);
  buf[0] = 0x01;
  buf[1] = depth;
  buf.set(left, 2);
  buf.set(right, 2 + KT_HASH_LENGTH);
  return hash(buf);
}

function checkKey(name: string, k: unknown): asserts k is Uint8Array {
  if (!(k instanceof Uint8Array) || k.length !== KT_HASH_LENGTH) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} of ${KT_HASH_LENGTH} bytes`);
  }
}

/**
 * The map (server side). Keys are only added or updated, never removed (a directory entry's
 * version only grows). `hash` may be a faster SHA-256 than the default (node:crypto).
 */
export class SparseMerkleMap {
  #root: MapNode | undefined;
  #size = 0;
  readonly #hash: KtHashFunction;
  readonly #store: MapNodeStore | undefined;
  /** Nodes created by the batch being applied, written to the store at its end. */
  #created: MapNode[] = [];

  /** An empty map, persisting to `store` when given (which must be empty). */
  constructor(options: { hash?: KtHashFunction; store?: MapNodeStore } = {}) {
    this.#hash = options.hash ?? ktSha256;
    this.#store = options.store;
  }

  /**
   * Loads a map from a store, recomputing every hash; throws `INTERNAL` when a stored branch's
   * hash differs from its recomputed one or a child is missing (a damaged store).
   */
  static load(store: MapNodeStore, options: { hash?: KtHashFunction } = {}): SparseMerkleMap {
    const map = new SparseMerkleMap({ ...options, store });
    const label = store.getRoot();
    if (label === undefined) return map;
    const hash = map.#hash;
    let size = 0;
    const visit = (l: string): MapNode => {
      const s = store.get(l);
      if (s === undefined) throw new ProtocolError('INTERNAL', `the map store lacks node ${l}`);
      if (s.kind === 'leaf') {
        size++;
        return { kind: 0, key: s.key, valueHash: s.valueHash, hash: mapLeafHash(s.key, s.valueHash, hash) };
      }
      const left = visit(s.left);
      const right = visit(s.right);
      const h = mapBranchHash(s.depth, left.hash, right.hash, hash);
      if (!constantTimeEqual(h, s.hash)) throw new ProtocolError('INTERNAL', `stored hash of ${l} does not match`);
      return { kind: 1, depth: s.depth, anyKey: left.kind === 0 ? left.key : left.anyKey, left, right, hash: h };
    };
    map.#root = visit(label);
    map.#size = size;
    return map;
  }

  /** Number of keys. */
  get size(): number {
    return this.#size;
  }

  /** The current root hash. */
  root(): Uint8Array {
    return this.#root === undefined ? emptyMapRoot(this.#hash) : this.#root.hash;
  }

  /** The value hash of `key`, or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    checkKey('key', key);
    let node = this.#root;
    while (node !== undefined && node.kind === 1) node = bit(key, node.depth) === 0 ? node.left : node.right;
    return node !== undefined && constantTimeEqual(node.key, key) ? node.valueHash : undefined;
  }

  /**
   * Sets every update's key to its value hash (inserting new keys) and returns the new root. A
   * key may appear once per batch (`INVALID_ARGUMENT` otherwise). Recomputes each changed node's
   * hash once, however many updates lie below it.
   */
  applyBatch(updates: readonly MapUpdate[]): Uint8Array {
    for (const u of updates) {
      checkKey('an update key', u.key);
      checkKey('an update value hash', u.valueHash);
    }
    const sorted = [...updates].sort((a, b) => compareBytes(a.key, b.key));
    for (let i = 1; i < sorted.length; i++) {
      if (compareBytes((sorted[i - 1] as MapUpdate).key, (sorted[i] as MapUpdate).key) === 0) {
        throw new ProtocolError('INVALID_ARGUMENT', 'a key appears twice in one batch');
      }
    }
    if (sorted.length === 0) return this.root();
    this.#created = [];
    this.#root = this.#apply(this.#root, sorted, 0, sorted.length);
    this.#persist();
    return this.#root.hash;
  }

  #leaf(key: Uint8Array, valueHash: Uint8Array): Leaf {
    const leaf: Leaf = { kind: 0, key, valueHash, hash: mapLeafHash(key, valueHash, this.#hash) };
    this.#created.push(leaf);
    return leaf;
  }

  #branch(depth: number, left: MapNode, right: MapNode): Branch {
    const node: Branch = {
      kind: 1,
      depth,
      anyKey: left.kind === 0 ? left.key : left.anyKey,
      left,
      right,
      hash: mapBranchHash(depth, left.hash, right.hash, this.#hash),
    };
    this.#created.push(node);
    return node;
  }

  /** First index in [lo, hi) whose key has bit `depth` set (keys sorted, sharing bits < depth). */
  static #split(u: readonly MapUpdate[], lo: number, hi: number, depth: number): number {
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (bit((u[mid] as MapUpdate).key, depth) === 0) a = mid + 1;
      else b = mid;
    }
    return a;
  }

  /** A subtree of new leaves only, from sorted distinct updates [lo, hi). */
  #build(u: readonly MapUpdate[], lo: number, hi: number): MapNode {
    if (hi - lo === 1) {
      this.#size++;
      const x = u[lo] as MapUpdate;
      return this.#leaf(x.key, x.valueHash);
    }
    const depth = commonPrefix((u[lo] as MapUpdate).key, (u[hi - 1] as MapUpdate).key);
    const mid = SparseMerkleMap.#split(u, lo, hi, depth);
    return this.#branch(depth, this.#build(u, lo, mid), this.#build(u, mid, hi));
  }

  /** `node` with updates [lo, hi) applied (hi > lo). */
  #apply(node: MapNode | undefined, u: readonly MapUpdate[], lo: number, hi: number): MapNode {
    if (node === undefined) return this.#build(u, lo, hi);
    const first = (u[lo] as MapUpdate).key;
    const last = (u[hi - 1] as MapUpdate).key;
    const nodeKey = node.kind === 0 ? node.key : node.anyKey;
    const nodeDepth = node.kind === 0 ? KEY_BITS : node.depth;
    // The bits every update and the node share.
    const c = Math.min(commonPrefix(first, last), commonPrefix(first, nodeKey), commonPrefix(last, nodeKey));
    if (c >= nodeDepth) {
      if (node.kind === 0) {
        // The single update is this leaf's key.
        const x = u[lo] as MapUpdate;
        return constantTimeEqual(x.valueHash, node.valueHash) ? node : this.#leaf(node.key, x.valueHash);
      }
      const mid = SparseMerkleMap.#split(u, lo, hi, node.depth);
      const left = mid > lo ? this.#apply(node.left, u, lo, mid) : node.left;
      const right = hi > mid ? this.#apply(node.right, u, mid, hi) : node.right;
      return this.#branch(node.depth, left, right);
    }
    // Some update leaves the node's prefix at bit c: a new branch at c above the node.
    const mid = SparseMerkleMap.#split(u, lo, hi, c);
    if (bit(nodeKey, c) === 0) {
      const left = mid > lo ? this.#apply(node, u, lo, mid) : node;
      return this.#branch(c, left, this.#build(u, mid, hi));
    }
    const right = hi > mid ? this.#apply(node, u, mid, hi) : node;
    return this.#branch(c, this.#build(u, lo, mid), right);
  }

  #persist(): void {
    const store = this.#store;
    const created = this.#created;
    this.#created = [];
    if (store === undefined || this.#root === undefined) return;
    const label = (n: MapNode) => (n.kind === 0 ? mapNodeLabel(KEY_BITS, n.key) : mapNodeLabel(n.depth, n.anyKey));
    for (const n of created) {
      if (n.kind === 0) store.put(label(n), { kind: 'leaf', key: n.key, valueHash: n.valueHash });
      else
        store.put(label(n), {
          kind: 'branch',
          depth: n.depth,
          left: label(n.left),
          right: label(n.right),
          hash: n.hash,
        });
    }
    store.setRoot(label(this.#root));
  }

  /** The lookup proof of `key` (membership when present, non-membership otherwise). */
  prove(key: Uint8Array): MapProof {
    checkKey('key', key);
    const siblings: { depth: number; hash: Uint8Array }[] = [];
    let node = this.#root;
    while (node !== undefined && node.kind === 1) {
      const b = bit(key, node.depth);
      siblings.push({ depth: node.depth, hash: (b === 0 ? node.right : node.left).hash });
      node = b === 0 ? node.left : node.right;
    }
    return { siblings, leaf: node === undefined ? null : { key: node.key, valueHash: node.valueHash } };
  }
}

function invalid(message: string): never {
  throw new ProtocolError('KT_PROOF_INVALID', message);
}

/**
 * Verifies a lookup proof of `key` against `root` and says whether the key is present (with its
 * value hash) or absent. Throws `KT_PROOF_INVALID` when the proof does not lead to the root, its
 * depths do not strictly grow, or its leaf does not lie on the key's path.
 */
export function verifyMapProof(
  root: Uint8Array,
  key: Uint8Array,
  proof: MapProof,
  hash: KtHashFunction = ktSha256,
): MapLookupResult {
  checkKey('root', root);
  checkKey('key', key);
  const { siblings, leaf } = proof;
  if (!Array.isArray(siblings) || siblings.length > KEY_BITS) invalid('the proof has too many siblings');
  let prev = -1;
  for (const s of siblings) {
    if (!Number.isInteger(s.depth) || s.depth <= prev || s.depth >= KEY_BITS) invalid('proof depths must grow');
    if (!(s.hash instanceof Uint8Array) || s.hash.length !== KT_HASH_LENGTH) invalid('a sibling hash is not 32 bytes');
    prev = s.depth;
  }
  let r: Uint8Array;
  if (leaf === null) {
    if (siblings.length !== 0) invalid('an empty end below a branch');
    r = emptyMapRoot(hash);
  } else {
    if (!(leaf.key instanceof Uint8Array) || leaf.key.length !== KT_HASH_LENGTH)
      invalid('the leaf key is not 32 bytes');
    if (!(leaf.valueHash instanceof Uint8Array) || leaf.valueHash.length !== KT_HASH_LENGTH) {
      invalid('the leaf value hash is not 32 bytes');
    }
    for (const s of siblings) if (bit(leaf.key, s.depth) !== bit(key, s.depth)) invalid('the leaf is off the key path');
    r = mapLeafHash(leaf.key, leaf.valueHash, hash);
  }
  for (let i = siblings.length - 1; i >= 0; i--) {
    const s = siblings[i] as { depth: number; hash: Uint8Array };
    r = bit(key, s.depth) === 0 ? mapBranchHash(s.depth, r, s.hash, hash) : mapBranchHash(s.depth, s.hash, r, hash);
  }
  if (!constantTimeEqual(r, root)) invalid('the map proof does not lead to the root');
  if (leaf !== null && constantTimeEqual(leaf.key, key)) return { present: true, valueHash: leaf.valueHash.slice() };
  return { present: false };
}

/**
 * Encodes a proof: `u8 version (1) ‖ u16 count ‖ count × (u8 depth ‖ hash(32)) ‖ u8 end`, where
 * `end` is 0 (empty map, nothing follows) or 1 followed by `key(32) ‖ valueHash(32)`.
 */
export function encodeMapProof(proof: MapProof): Uint8Array {
  const n = proof.siblings.length;
  if (n > KEY_BITS) throw new ProtocolError('INVALID_ARGUMENT', 'a proof has at most 256 siblings');
  const out = new Uint8Array(3 + n * 33 + 1 + (proof.leaf === null ? 0 : 64));
  out[0] = MAP_PROOF_VERSION;
  out[1] = n >> 8;
  out[2] = n & 0xff;
  let o = 3;
  for (const s of proof.siblings) {
    if (!Number.isInteger(s.depth) || s.depth < 0 || s.depth >= KEY_BITS) {
      throw new ProtocolError('INVALID_ARGUMENT', 'a sibling depth is outside 0..255');
    }
    checkKey('a sibling hash', s.hash);
    out[o] = s.depth;
    out.set(s.hash, o + 1);
    o += 33;
  }
  if (proof.leaf === null) {
    out[o] = 0;
  } else {
    checkKey('the leaf key', proof.leaf.key);
    checkKey('the leaf value hash', proof.leaf.valueHash);
    out[o] = 1;
    out.set(proof.leaf.key, o + 1);
    out.set(proof.leaf.valueHash, o + 33);
  }
  return out;
}

/**
 * Decodes a proof strictly: `UNKNOWN_VERSION` for another version; `MALFORMED_MESSAGE` when it is
 * longer than `MAP_PROOF_MAX_BYTES`, truncated, followed by extra bytes, or has a count above 256,
 * an unknown end kind or an empty end after siblings. Depth order is checked by `verifyMapProof`.
 */
export function decodeMapProof(bytes: Uint8Array): MapProof {
  const malformed = (why: string): never => {
    throw new ProtocolError('MALFORMED_MESSAGE', `map proof: ${why}`);
  };
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('INVALID_ARGUMENT', 'expected a Uint8Array');
  if (bytes.length > MAP_PROOF_MAX_BYTES) malformed('too long');
  if (bytes.length < 4) malformed('truncated');
  if (bytes[0] !== MAP_PROOF_VERSION) throw new ProtocolError('UNKNOWN_VERSION', 'map proof: unknown version');
  const n = ((bytes[1] as number) << 8) | (bytes[2] as number);
  if (n > KEY_BITS) malformed('too many siblings');
  const endAt = 3 + n * 33;
  if (bytes.length < endAt + 1) malformed('truncated');
  const siblings: { depth: number; hash: Uint8Array }[] = [];
  for (let i = 0; i < n; i++) {
    const o = 3 + i * 33;
    siblings.push({ depth: bytes[o] as number, hash: bytes.slice(o + 1, o + 33) });
  }
  const end = bytes[endAt];
  if (end === 0) {
    if (bytes.length !== endAt + 1) malformed('extra bytes');
    if (n !== 0) malformed('an empty end below a branch');
    return { siblings, leaf: null };
  }
  if (end !== 1) malformed('unknown end kind');
  if (bytes.length !== endAt + 65) malformed(bytes.length < endAt + 65 ? 'truncated' : 'extra bytes');
  return {
    siblings,
    leaf: { key: bytes.slice(endAt + 1, endAt + 33), valueHash: bytes.slice(endAt + 33, endAt + 65) },
  };
}
