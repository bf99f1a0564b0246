import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isProtocolError } from '../../src/index.ts';
import {
  logConsistencyProof,
  logInclusionProof,
  logLeafHash,
  logRoot,
  verifyLogConsistency,
  verifyLogInclusion,
} from '../../src/kt/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const invalid = (err: unknown) => isProtocolError(err, 'KT_PROOF_INVALID');

// The RFC 6962 test inputs of certificate-transparency / Trillian (merkle/testonly/constants.go,
// also in AOSP avb's libavb_aftl tests): leaves and the roots of their first 1..8.
const CT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(unhex);
const CT_ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
/** [leaf index, tree size, audit path] (Trillian merkle/log_verifier_test.go, via avb). */
const CT_PATHS: [number, number, string[]][] = [
  [0, 1, []],
  [
    0,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    5,
    8,
    [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [
    1,
    5,
    [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];
/** [old size, new size, consistency proof] (Trillian's test vectors). */
const CT_CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [
    1,
    8,
    [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  ],
  [
    6,
    8,
    [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  ],
  [
    2,
    5,
    [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  ],
];

const ctHashes = CT_LEAVES.map((l) => logLeafHash(l));
/** node:crypto SHA-256 for generating the exhaustive proofs quickly; verification keeps the default (noble). */
const fast = (d: Uint8Array) => new Uint8Array(createHash('sha256').update(d).digest());

/** Leaf hashes of `n` distinct leaves (leaf i is the 4-byte big-endian i). */
function leaves(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => logLeafHash(new Uint8Array([i >>> 24, i >>> 16, i >>> 8, i])));
}

describe('kt log (RFC 9162 Merkle tree)', () => {
  it('computes the RFC 6962 test roots for 0..8 leaves', () => {
    for (let n = 0; n <= 8; n++) assert.equal(hex(logRoot(ctHashes.slice(0, n))), CT_ROOTS[n], `size ${n}`);
  });

  it('has the documented test vectors of our own (docs/protocol.md §17.1)', () => {
    const ours = ['parley 0', 'parley 1', 'parley 2'].map((t) => logLeafHash(new TextEncoder().encode(t)));
    assert.equal(hex(logRoot(ours.slice(0, 2))), '526a01c15ac9c00f3cd99738d2c356febf3e5f1a323ab7bcbb9fd83769fa1679');
    assert.equal(hex(logRoot(ours)), 'd6dcc193f2d24cf12ba76baf44df71728f979ff53c2c5766d5b5de072862e066');
    assert.deepEqual(logConsistencyProof(ours, 2).map(hex), [
      '61702244eee325b18e0f7b858a89febc1af4736ded970f7541d88221594fdcd1',
    ]);
  });

  it('generates and verifies the known inclusion proofs', () => {
    for (const [index, size, path] of CT_PATHS) {
      const proof = logInclusionProof(ctHashes.slice(0, size), index);
      assert.deepEqual(proof.map(hex), path, `leaf ${index} of ${size}`);
      verifyLogInclusion(ctHashes[index] as Uint8Array, index, size, path.map(unhex), unhex(CT_ROOTS[size] as string));
    }
  });

  it('generates and verifies the known consistency proofs', () => {
    for (const [m, n, path] of CT_CONSISTENCY) {
      const proof = logConsistencyProof(ctHashes.slice(0, n), m);
      assert.deepEqual(proof.map(hex), path, `${m} -> ${n}`);
      verifyLogConsistency(m, n, unhex(CT_ROOTS[m] as string), unhex(CT_ROOTS[n] as string), path.map(unhex));
    }
  });

  it('proves and verifies every inclusion for every size 1..64, and refuses every tampered proof', () => {
    const all = leaves(65);
    for (let n = 1; n <= 64; n++) {
      const tree = all.slice(0, n);
      const root = logRoot(tree, fast);
      const nextRoot = logRoot(all.slice(0, n + 1), fast);
      for (let i = 0; i < n; i++) {
        const proof = logInclusionProof(tree, i, fast);
        verifyLogInclusion(tree[i] as Uint8Array, i, n, proof, root);
        // Wrong leaf, index, size, root; each proof hash flipped; a hash dropped or added.
        if (n > 1) {
          assert.throws(() => verifyLogInclusion(tree[(i + 1) % n] as Uint8Array, i, n, proof, root), invalid);
          assert.throws(() => verifyLogInclusion(tree[i] as Uint8Array, (i + 1) % n, n, proof, root), invalid);
        }
        assert.throws(() => verifyLogInclusion(tree[i] as Uint8Array, i, n, proof, nextRoot), invalid);
        for (let j = 0; j < proof.length; j++) {
          const bad = proof.map((p) => p.slice());
          const b = bad[j] as Uint8Array;
          b[j % 32] = (b[j % 32] as number) ^ 1;
          assert.throws(() => verifyLogInclusion(tree[i] as Uint8Array, i, n, bad, root), invalid);
        }
        if (proof.length > 0) {
          assert.throws(() => verifyLogInclusion(tree[i] as Uint8Array, i, n, proof.slice(1), root), invalid);
        }
        assert.throws(() => verifyLogInclusion(tree[i] as Uint8Array, i, n, [...proof, root], root), invalid);
      }
    }
  });

  it('proves and verifies every consistency for every pair of sizes up to 64, and refuses tampering', () => {
    const all = leaves(64);
    const roots = Array.from({ length: 65 }, (_, n) => logRoot(all.slice(0, n), fast));
    for (let n = 1; n <= 64; n++) {
      const tree = all.slice(0, n);
      for (let m = 0; m <= n; m++) {
        const proof = logConsistencyProof(tree, m, fast);
        verifyLogConsistency(m, n, roots[m] as Uint8Array, roots[n] as Uint8Array, proof);
        if (m === 0) continue;
        const other = (k: number) => roots[k === n ? n - 1 : k + 1] as Uint8Array;
        assert.throws(() => verifyLogConsistency(m, n, other(m), roots[n] as Uint8Array, proof), invalid);
        assert.throws(() => verifyLogConsistency(m, n, roots[m] as Uint8Array, other(n), proof), invalid);
        if (m < n) {
          for (let j = 0; j < proof.length; j++) {
            const bad = proof.map((p) => p.slice());
            const b = bad[j] as Uint8Array;
            b[31 - (j % 32)] = (b[31 - (j % 32)] as number) ^ 0x80;
            assert.throws(
              () => verifyLogConsistency(m, n, roots[m] as Uint8Array, roots[n] as Uint8Array, bad),
              invalid,
            );
          }
          assert.throws(
            () => verifyLogConsistency(m, n, roots[m] as Uint8Array, roots[n] as Uint8Array, proof.slice(0, -1)),
            invalid,
          );
          assert.throws(
            () => verifyLogConsistency(m, n, roots[m] as Uint8Array, roots[n] as Uint8Array, [...proof, proof[0]!]),
            invalid,
          );
          // A rollback: the "new" tree smaller than the old one.
          assert.throws(
            () => verifyLogConsistency(n, m, roots[n] as Uint8Array, roots[m] as Uint8Array, proof),
            invalid,
          );
        }
      }
    }
  });

  it('refuses malformed proofs and arguments with typed errors', () => {
    const tree = leaves(5);
    const root = logRoot(tree);
    const proof = logInclusionProof(tree, 2);
    assert.throws(() => verifyLogInclusion(tree[2]!, 2, 5, [...proof.slice(0, 2), new Uint8Array(31)], root), invalid);
    assert.throws(() => verifyLogInclusion(tree[2]!, 5, 5, proof, root), invalid);
    assert.throws(() => verifyLogInclusion(tree[2]!, 2, 5, new Array(129).fill(root), root), invalid);
    assert.throws(
      () => verifyLogInclusion(tree[2]!, -1, 5, proof, root),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => verifyLogInclusion(tree[2]!, 2, 5, proof, new Uint8Array(33)),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(() => verifyLogConsistency(0, 5, root, root, []), invalid);
    assert.throws(() => verifyLogConsistency(3, 5, root, root, []), invalid);
  });
});
