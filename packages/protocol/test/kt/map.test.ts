import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isProtocolError } from '../../src/index.ts';
import {
  decodeMapProof,
  emptyMapRoot,
  encodeMapProof,
  MAP_PROOF_MAX_BYTES,
  type MapUpdate,
  MemoryMapNodeStore,
  mapBranchHash,
  mapLeafHash,
  SparseMerkleMap,
  verifyMapProof,
} from '../../src/kt/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const sha = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());
const invalid = (e: unknown) => isProtocolError(e, 'KT_PROOF_INVALID');
const malformed = (e: unknown) => isProtocolError(e, 'MALFORMED_MESSAGE');
const key = (i: number) => sha(`key ${i}`);
const value = (i: number, v = 0) => sha(`value ${i} ${v}`);
const updates = (from: number, to: number, v = 0): MapUpdate[] =>
  Array.from({ length: to - from }, (_, j) => ({ key: key(from + j), valueHash: value(from + j, v) }));

/** The root by definition, from the full set of (key, value) pairs: the reference the map must match. */
function referenceRoot(entries: [Uint8Array, Uint8Array][]): Uint8Array {
  if (entries.length === 0) return emptyMapRoot();
  const bitOf = (k: Uint8Array, i: number) => ((k[i >> 3] as number) >> (7 - (i & 7))) & 1;
  const rec = (es: [Uint8Array, Uint8Array][], depth: number): Uint8Array => {
    if (es.length === 1) return mapLeafHash(es[0]![0], es[0]![1]);
    // Find the first bit at or after depth where the entries differ.
    for (let d = depth; d < 256; d++) {
      const zeros = es.filter((e) => bitOf(e[0], d) === 0);
      if (zeros.length > 0 && zeros.length < es.length) {
        const ones = es.filter((e) => bitOf(e[0], d) === 1);
        return mapBranchHash(d, rec(zeros, d + 1), rec(ones, d + 1));
      }
    }
    throw new Error('duplicate keys');
  };
  return rec(entries, 0);
}

describe('kt map (compressed sparse Merkle map)', () => {
  it('has the documented test-vector roots', () => {
    // docs/protocol.md §17.2, computed with Python's hashlib from the definition: keys SHA-256("key i"), values SHA-256("value i 0").
    assert.equal(hex(emptyMapRoot()), 'dbc1b4c900ffe48d575b5da5c638040125f65db0fe3e24494b76ea986457d986');
    const one = new SparseMerkleMap();
    one.applyBatch(updates(0, 1));
    assert.equal(hex(one.root()), '293417b0ea48de89731c1d2505941130187ea348461242e998ff8fa8c3651e0c');
    const three = new SparseMerkleMap();
    three.applyBatch(updates(0, 3));
    assert.equal(hex(three.root()), MAP_VECTOR_3);
  });

  it('matches the reference root through batches of inserts and updates, in any order', () => {
    const map = new SparseMerkleMap();
    const truth = new Map<string, [Uint8Array, Uint8Array]>();
    const batches = [
      updates(0, 1),
      updates(1, 2),
      updates(2, 40),
      updates(10, 20, 1),
      updates(35, 90, 2),
      updates(0, 1, 3),
    ];
    for (const batch of batches) {
      map.applyBatch([...batch].reverse());
      for (const u of batch) truth.set(hex(u.key), [u.key, u.valueHash]);
      assert.equal(hex(map.root()), hex(referenceRoot([...truth.values()])));
      assert.equal(map.size, truth.size);
    }
    // One batch with everything gives the same root as the sequence.
    const once = new SparseMerkleMap();
    once.applyBatch([...truth.values()].map(([k, v]) => ({ key: k, valueHash: v })));
    assert.equal(hex(once.root()), hex(map.root()));
    assert.equal(hex(map.get(key(15)) as Uint8Array), hex(value(15, 1)));
    assert.equal(map.get(key(1000)), undefined);
  });

  it('proves membership of every key and non-membership of absent ones, through encoding', () => {
    const map = new SparseMerkleMap();
    map.applyBatch(updates(0, 200));
    const root = map.root();
    for (let i = 0; i < 260; i++) {
      const proof = decodeMapProof(encodeMapProof(map.prove(key(i))));
      const result = verifyMapProof(root, key(i), proof);
      if (i < 200) assert.deepEqual(result, { present: true, valueHash: value(i) });
      else assert.deepEqual(result, { present: false });
    }
  });

  it('proves against the empty map and a one-key map', () => {
    const empty = new SparseMerkleMap();
    assert.deepEqual(verifyMapProof(empty.root(), key(1), empty.prove(key(1))), { present: false });
    const one = new SparseMerkleMap();
    one.applyBatch(updates(0, 1));
    assert.deepEqual(verifyMapProof(one.root(), key(0), one.prove(key(0))), { present: true, valueHash: value(0) });
    assert.deepEqual(verifyMapProof(one.root(), key(1), one.prove(key(1))), { present: false });
    // The empty map's proof does not verify against the one-key root.
    assert.throws(() => verifyMapProof(one.root(), key(1), empty.prove(key(1))), invalid);
  });

  it('refuses tampered proofs', () => {
    const map = new SparseMerkleMap();
    map.applyBatch(updates(0, 100));
    const root = map.root();
    const proof = map.prove(key(7));
    assert.ok(proof.siblings.length > 3);
    // A different value, key or root.
    assert.throws(
      () => verifyMapProof(root, key(7), { ...proof, leaf: { key: key(7), valueHash: value(8) } }),
      invalid,
    );
    assert.throws(() => verifyMapProof(root, key(8), proof), invalid);
    assert.throws(() => verifyMapProof(value(0), key(7), proof), invalid);
    for (let i = 0; i < proof.siblings.length; i++) {
      const s = proof.siblings.map((x) => ({ depth: x.depth, hash: x.hash.slice() }));
      const h = s[i]!.hash;
      h[i % 32] = (h[i % 32] as number) ^ 1;
      assert.throws(() => verifyMapProof(root, key(7), { ...proof, siblings: s }), invalid);
      const d = proof.siblings.map((x) => ({ ...x }));
      d[i]!.depth += 1;
      assert.throws(() => verifyMapProof(root, key(7), { ...proof, siblings: d }), invalid);
      const dropped = proof.siblings.filter((_, j) => j !== i);
      assert.throws(() => verifyMapProof(root, key(7), { ...proof, siblings: dropped }), invalid);
    }
    // Claiming absence of a present key with another leaf's proof: the other leaf is off its path.
    const other = map.prove(key(8));
    assert.throws(() => verifyMapProof(root, key(7), other), invalid);
    // Depths out of order.
    const swapped = [...proof.siblings];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    assert.throws(() => verifyMapProof(root, key(7), { ...proof, siblings: swapped }), invalid);
  });

  it('decodes strictly: truncated, extended, oversized, unknown version or end kind', () => {
    const map = new SparseMerkleMap();
    map.applyBatch(updates(0, 50));
    const bytes = encodeMapProof(map.prove(key(3)));
    for (let n = 0; n < bytes.length; n++) assert.throws(() => decodeMapProof(bytes.subarray(0, n)), malformed);
    assert.throws(() => decodeMapProof(new Uint8Array([...bytes, 0])), malformed);
    assert.throws(() => decodeMapProof(new Uint8Array(MAP_PROOF_MAX_BYTES + 1)), malformed);
    const v = bytes.slice();
    v[0] = 2;
    assert.throws(
      () => decodeMapProof(v),
      (e) => isProtocolError(e, 'UNKNOWN_VERSION'),
    );
    const count = bytes.slice();
    count[1] = 1;
    count[2] = 1;
    assert.throws(() => decodeMapProof(count), malformed);
    const end = bytes.slice();
    end[3 + (bytes[2] as number) * 33] = 2;
    assert.throws(() => decodeMapProof(end), malformed);
    assert.throws(() => decodeMapProof(new Uint8Array([1, 0, 1, ...new Uint8Array(33), 0])), malformed);
    assert.deepEqual(decodeMapProof(new Uint8Array([1, 0, 0, 0])), { siblings: [], leaf: null });
  });

  it('refuses a key twice in one batch and wrong-length keys', () => {
    const map = new SparseMerkleMap();
    assert.throws(
      () => map.applyBatch([...updates(0, 2), ...updates(1, 2, 1)]),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => map.applyBatch([{ key: new Uint8Array(31), valueHash: value(0) }]),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
  });

  it('persists to a node store and loads back the same map', () => {
    const store = new MemoryMapNodeStore();
    const map = new SparseMerkleMap({ store });
    map.applyBatch(updates(0, 300));
    map.applyBatch([...updates(250, 400, 1)]);
    const loaded = SparseMerkleMap.load(store);
    assert.equal(hex(loaded.root()), hex(map.root()));
    assert.equal(loaded.size, 400);
    // 400 leaves and 399 branches; labels are stable, so updates overwrote in place.
    assert.equal(store.nodes.size, 799);
    loaded.applyBatch(updates(400, 410));
    map.applyBatch(updates(400, 410));
    assert.equal(hex(loaded.root()), hex(map.root()));
    // A damaged store is refused.
    const [label, node] = [...store.nodes].find(([, n]) => n.kind === 'branch')!;
    if (node.kind !== 'branch') throw new Error('unreachable');
    store.put(label, { ...node, hash: value(0) });
    assert.throws(
      () => SparseMerkleMap.load(store),
      (e) => isProtocolError(e, 'INTERNAL'),
    );
  });

  it('accepts an injected hash function computing the same roots', () => {
    const fast = (d: Uint8Array) => new Uint8Array(createHash('sha256').update(d).digest());
    const a = new SparseMerkleMap({ hash: fast });
    const b = new SparseMerkleMap();
    a.applyBatch(updates(0, 64));
    b.applyBatch(updates(0, 64));
    assert.equal(hex(a.root()), hex(b.root()));
  });
});

const MAP_VECTOR_3 = '4c34204339372600bea80746406b2e3f7f51d53c144df50691608e468c8720ac';
