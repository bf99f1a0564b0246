/**
 * The append-only log of key transparency: an RFC 9162 (Certificate Transparency 2.0) Merkle tree
 * over SHA-256, with inclusion proofs (§2.1.3) and consistency proofs (§2.1.4).
 *
 * - Leaf hash: `SHA-256(0x00 ‖ data)`; interior node hash: `SHA-256(0x01 ‖ left ‖ right)`.
 * - MTH of the empty list is `SHA-256("")`; of n > 1 leaves, split at k, the largest power of two
 *   smaller than n: `MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))` (§2.1.1).
 *
 * Generation functions take the list of leaf hashes (not leaf data); verification functions take
 * only hashes and sizes and throw `KT_PROOF_INVALID` (mismatch or inconsistent proof) or
 * `INVALID_ARGUMENT` (a caller passed a non-integer size or a hash of the wrong length). The
 * generators recompute subtrees, O(n) per call: fine for a log of epochs, not for millions of leaves.
 */
import { concatBytes, constantTimeEqual } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import { KT_HASH_LENGTH, type KtHashFunction, ktSha256 } from './hash.ts';

/** Largest tree size the functions accept (sizes travel as u64 but must stay exact in JS). */
export const LOG_MAX_SIZE = Number.MAX_SAFE_INTEGER;
/** A proof never has more hashes than this (2 × 64 covers every size up to 2^64). */
export const LOG_MAX_PROOF_HASHES = 128;

/** RFC 9162 leaf hash: `SHA-256(0x00 ‖ data)`. */
export function logLeafHash(data: Uint8Array, hash: KtHashFunction = ktSha256): Uint8Array {
  return hash(concatBytes(new Uint8Array([0x00]), data));
}

/** RFC 9162 interior node hash: `SHA-256(0x01 ‖ left ‖ right)`. */
export function logNodeHash(left: Uint8Array, right: Uint8Array, hash: KtHashFunction = ktSha256): Uint8Array {
  const buf = new Uint8Array(1 + 2 * KT_HASH_LENGTH);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + KT_HASH_LENGTH);
  return hash(buf);
}

function fail(message: string): never {
  throw new ProtocolError('KT_PROOF_INVALID', message);
}

function checkSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} to be a non-negative safe integer`);
  }
}

function checkHash(name: string, h: unknown): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== KT_HASH_LENGTH) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} to be a ${KT_HASH_LENGTH}-byte hash`);
  }
}

function checkProof(proof: readonly Uint8Array[]): void {
  if (!Array.isArray(proof)) throw new ProtocolError('INVALID_ARGUMENT', 'expected the proof to be an array');
  if (proof.length > LOG_MAX_PROOF_HASHES) fail('the proof has too many hashes');
  for (const p of proof) {
    if (!(p instanceof Uint8Array) || p.length !== KT_HASH_LENGTH) fail('a proof hash is not 32 bytes');
  }
}

/** Largest power of two strictly smaller than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH over `leaves[lo:hi]` (leaf hashes). */
function mth(leaves: readonly Uint8Array[], lo: number, hi: number, hash: KtHashFunction): Uint8Array {
  const n = hi - lo;
  if (n === 0) return hash(new Uint8Array(0));
  if (n === 1) return leaves[lo] as Uint8Array;
  const k = splitPoint(n);
  return logNodeHash(mth(leaves, lo, lo + k, hash), mth(leaves, lo + k, hi, hash), hash);
}

/** The Merkle tree hash (root) of a list of leaf hashes (RFC 9162 §2.1.1). */
export function logRoot(leafHashes: readonly Uint8Array[], hash: KtHashFunction = ktSha256): Uint8Array {
  for (const h of leafHashes) checkHash('a leaf hash', h);
  return mth(leafHashes, 0, leafHashes.length, hash);
}

/**
 * The inclusion proof (audit path) of leaf `index` in the tree of `leafHashes` (RFC 9162
 * §2.1.3.1), ordered from the leaf's sibling up to the root's child.
 */
export function logInclusionProof(
  leafHashes: readonly Uint8Array[],
  index: number,
  hash: KtHashFunction = ktSha256,
): Uint8Array[] {
  checkSize('index', index);
  if (index >= leafHashes.length) throw new ProtocolError('INVALID_ARGUMENT', 'the leaf index is outside the tree');
  for (const h of leafHashes) checkHash('a leaf hash', h);
  const out: Uint8Array[] = [];
  const path = (m: number, lo: number, hi: number): void => {
    const n = hi - lo;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      path(m, lo, lo + k);
      out.push(mth(leafHashes, lo + k, hi, hash));
    } else {
      path(m - k, lo + k, hi);
      out.push(mth(leafHashes, lo, lo + k, hash));
    }
  };
  path(index, 0, leafHashes.length);
  return out;
}

/**
 * The consistency proof between the tree of the first `oldSize` leaves and the tree of all
 * `leafHashes` (RFC 9162 §2.1.4.1). Empty when `oldSize` is 0 or equals the new size.
 */
export function logConsistencyProof(
  leafHashes: readonly Uint8Array[],
  oldSize: number,
  hash: KtHashFunction = ktSha256,
): Uint8Array[] {
  checkSize('oldSize', oldSize);
  if (oldSize > leafHashes.length) throw new ProtocolError('INVALID_ARGUMENT', 'the old size exceeds the tree');
  for (const h of leafHashes) checkHash('a leaf hash', h);
  const out: Uint8Array[] = [];
  if (oldSize === 0 || oldSize === leafHashes.length) return out;
  const subproof = (m: number, lo: number, hi: number, complete: boolean): void => {
    const n = hi - lo;
    if (m === n) {
      if (!complete) out.push(mth(leafHashes, lo, hi, hash));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, lo, lo + k, complete);
      out.push(mth(leafHashes, lo + k, hi, hash));
    } else {
      subproof(m - k, lo + k, hi, false);
      out.push(mth(leafHashes, lo, lo + k, hash));
    }
  };
  subproof(oldSize, 0, leafHashes.length, true);
  return out;
}

/**
 * Verifies that `leafHash` is leaf `index` of the tree of `treeSize` leaves whose root is `root`
 * (RFC 9162 §2.1.3.2). Throws `KT_PROOF_INVALID` on any mismatch, a proof of the wrong length,
 * or an index outside the tree.
 */
export function verifyLogInclusion(
  leafHash: Uint8Array,
  index: number,
  treeSize: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  hash: KtHashFunction = ktSha256,
): void {
  checkHash('leafHash', leafHash);
  checkHash('root', root);
  checkSize('index', index);
  checkSize('treeSize', treeSize);
  checkProof(proof);
  if (index >= treeSize) fail('the leaf index is outside the tree');
  // fn and sn exceed 32 bits: shift with division, never with >>.
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) fail('the inclusion proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      r = logNodeHash(p, r, hash);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = logNodeHash(r, p, hash);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) fail('the inclusion proof is too short');
  if (!constantTimeEqual(r, root)) fail('the inclusion proof does not lead to the root');
}

function isPowerOfTwo(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}

/**
 * Verifies that the tree of `newSize` leaves with root `newRoot` extends the tree of `oldSize`
 * leaves with root `oldRoot` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal roots;
 * an old size of 0 needs an empty proof (the empty tree is a prefix of every tree). Throws
 * `KT_PROOF_INVALID` on any mismatch, including `oldSize > newSize`.
 */
export function verifyLogConsistency(
  oldSize: number,
  newSize: number,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
  hash: KtHashFunction = ktSha256,
): void {
  checkSize('oldSize', oldSize);
  checkSize('newSize', newSize);
  checkHash('oldRoot', oldRoot);
  checkHash('newRoot', newRoot);
  checkProof(proof);
  if (oldSize > newSize) fail('the new tree is smaller than the old one');
  if (oldSize === newSize) {
    if (proof.length !== 0) fail('a proof between equal sizes must be empty');
    if (!constantTimeEqual(oldRoot, newRoot)) fail('two roots of the same size differ');
    return;
  }
  if (oldSize === 0) {
    if (proof.length !== 0) fail('a proof from the empty tree must be empty');
    if (!constantTimeEqual(oldRoot, hash(new Uint8Array(0)))) fail('the old root is not the empty tree hash');
    return;
  }
  if (proof.length === 0) fail('the consistency proof is empty');
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) fail('the consistency proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = logNodeHash(c, fr, hash);
      sr = logNodeHash(c, sr, hash);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = logNodeHash(sr, c, hash);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) fail('the consistency proof is too short');
  if (!constantTimeEqual(fr, oldRoot)) fail('the consistency proof does not lead to the old root');
  if (!constantTimeEqual(sr, newRoot)) fail('the consistency proof does not lead to the new root');
}
