/**
 * Signed tree heads of key transparency: each epoch the directory signs (Ed25519, its directory
 * key) the map root, the log of earlier heads, the time and the previous head's hash.
 *
 * Body encoding (121 bytes, big-endian):
 * `u8 version (1) ‖ u64 epoch ‖ mapRoot(32) ‖ u64 logSize ‖ logRoot(32) ‖ u64 timeMs ‖ previousHeadHash(32)`.
 * The signature covers `"parley-kt-v1 tree head" ‖ body`; the signed head is `body ‖ signature(64)`.
 * A head's hash is `SHA-256(body)`; the log over heads has one leaf per earlier head whose data is
 * that head's body (leaf hash `SHA-256(0x00 ‖ body)`, RFC 9162). Integers must be safe JS integers.
 */
import { concatBytes, utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ED25519_PUBLIC_KEY_LENGTH, ED25519_SEED_LENGTH, ED25519_SIGNATURE_LENGTH } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import { KT_HASH_LENGTH, type KtHashFunction, ktSha256 } from './hash.ts';

/** Version byte of the body encoding. */
export const TREE_HEAD_VERSION = 1;
/** Domain label prefixed to the body for the signature. */
export const TREE_HEAD_SIGNATURE_LABEL = 'parley-kt-v1 tree head';
/** Length of an encoded body. */
export const TREE_HEAD_BODY_LENGTH = 1 + 8 + 32 + 8 + 32 + 8 + 32;
/** Length of an encoded signed head. */
export const SIGNED_TREE_HEAD_LENGTH = TREE_HEAD_BODY_LENGTH + ED25519_SIGNATURE_LENGTH;

/** A tree head's fields. */
export interface TreeHead {
  readonly epoch: number;
  readonly mapRoot: Uint8Array;
  /** Size of the log over earlier heads (equal to `epoch` when the log starts at epoch 0). */
  readonly logSize: number;
  readonly logRoot: Uint8Array;
  /** Unix time in milliseconds. */
  readonly timeMs: number;
  /** `SHA-256` of the previous head's body (32 zero bytes for the first head). */
  readonly previousHeadHash: Uint8Array;
}

/** A head with the directory's signature over it. */
export interface SignedTreeHead {
  readonly head: TreeHead;
  readonly signature: Uint8Array;
}

function u64(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} to be a non-negative safe integer`);
  }
}

function hash32(name: string, h: unknown): void {
  if (!(h instanceof Uint8Array) || h.length !== KT_HASH_LENGTH) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} of ${KT_HASH_LENGTH} bytes`);
  }
}

/** The canonical body encoding of a head. */
export function encodeTreeHead(head: TreeHead): Uint8Array {
  u64('epoch', head.epoch);
  u64('logSize', head.logSize);
  u64('timeMs', head.timeMs);
  hash32('mapRoot', head.mapRoot);
  hash32('logRoot', head.logRoot);
  hash32('previousHeadHash', head.previousHeadHash);
  const out = new Uint8Array(TREE_HEAD_BODY_LENGTH);
  const view = new DataView(out.buffer);
  out[0] = TREE_HEAD_VERSION;
  view.setBigUint64(1, BigInt(head.epoch));
  out.set(head.mapRoot, 9);
  view.setBigUint64(41, BigInt(head.logSize));
  out.set(head.logRoot, 49);
  view.setBigUint64(81, BigInt(head.timeMs));
  out.set(head.previousHeadHash, 89);
  return out;
}

function malformed(why: string): never {
  throw new ProtocolError('MALFORMED_MESSAGE', `tree head: ${why}`);
}

/**
 * Decodes a body strictly: `UNKNOWN_VERSION` for another version byte, `MALFORMED_MESSAGE` for
 * any other length or an integer above 2^53 − 1.
 */
export function decodeTreeHead(bytes: Uint8Array): TreeHead {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('INVALID_ARGUMENT', 'expected a Uint8Array');
  if (bytes.length === 0) malformed('empty');
  if (bytes[0] !== TREE_HEAD_VERSION) throw new ProtocolError('UNKNOWN_VERSION', 'tree head: unknown version');
  if (bytes.length !== TREE_HEAD_BODY_LENGTH) malformed(`expected ${TREE_HEAD_BODY_LENGTH} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const int = (at: number, name: string): number => {
    const v = view.getBigUint64(at);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) malformed(`${name} too large`);
    return Number(v);
  };
  return {
    epoch: int(1, 'epoch'),
    mapRoot: bytes.slice(9, 41),
    logSize: int(41, 'logSize'),
    logRoot: bytes.slice(49, 81),
    timeMs: int(81, 'timeMs'),
    previousHeadHash: bytes.slice(89, 121),
  };
}

/** `SHA-256(body)`: what the next head names as its previous head. */
export function treeHeadHash(head: TreeHead, hash: KtHashFunction = ktSha256): Uint8Array {
  return hash(encodeTreeHead(head));
}

function signedMessage(body: Uint8Array): Uint8Array {
  return concatBytes(utf8(TREE_HEAD_SIGNATURE_LABEL), body);
}

/** Signs a head with the directory key's 32-byte Ed25519 seed. */
export async function signTreeHead(crypto: CryptoProvider, seed: Uint8Array, head: TreeHead): Promise<SignedTreeHead> {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_LENGTH) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected a 32-byte Ed25519 seed');
  }
  const signature = await crypto.ed25519Sign(seed, signedMessage(encodeTreeHead(head)));
  return { head, signature };
}

/** Throws `INVALID_SIGNATURE` unless `signed` carries the directory key's valid signature. */
export async function verifyTreeHead(
  crypto: CryptoProvider,
  directoryKey: Uint8Array,
  signed: SignedTreeHead,
): Promise<void> {
  if (!(directoryKey instanceof Uint8Array) || directoryKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected a 32-byte Ed25519 public key');
  }
  const ok = await crypto.ed25519Verify(directoryKey, signedMessage(encodeTreeHead(signed.head)), signed.signature);
  if (!ok) throw new ProtocolError('INVALID_SIGNATURE', 'the tree head signature does not verify');
}

/** `body ‖ signature`. */
export function encodeSignedTreeHead(signed: SignedTreeHead): Uint8Array {
  if (!(signed.signature instanceof Uint8Array) || signed.signature.length !== ED25519_SIGNATURE_LENGTH) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected a 64-byte signature');
  }
  return concatBytes(encodeTreeHead(signed.head), signed.signature);
}

/** Strict decoder of `body ‖ signature` (the signature is not checked here: `verifyTreeHead`). */
export function decodeSignedTreeHead(bytes: Uint8Array): SignedTreeHead {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('INVALID_ARGUMENT', 'expected a Uint8Array');
  if (bytes.length > 0 && bytes[0] !== TREE_HEAD_VERSION) {
    throw new ProtocolError('UNKNOWN_VERSION', 'tree head: unknown version');
  }
  if (bytes.length !== SIGNED_TREE_HEAD_LENGTH) malformed(`expected ${SIGNED_TREE_HEAD_LENGTH} bytes`);
  return {
    head: decodeTreeHead(bytes.subarray(0, TREE_HEAD_BODY_LENGTH)),
    signature: bytes.slice(TREE_HEAD_BODY_LENGTH),
  };
}
