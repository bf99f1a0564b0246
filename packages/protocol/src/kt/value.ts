/**
 * The value the key directory holds for an account (docs/protocol.md §17.4): the account's
 * identity key and the hash of its current signed device list, with a version that grows on every
 * change. The map stores `directoryValueHash(value)` under the account's VRF map key.
 *
 * Encoding (73 bytes): `u8 format (1) ‖ u64 version (big-endian) ‖ accountKey(32) ‖ deviceListHash(32)`.
 */
import { ProtocolError } from '../errors.ts';
import { KT_HASH_LENGTH, type KtHashFunction, ktSha256 } from './hash.ts';

/** Format byte of the encoding. */
export const DIRECTORY_VALUE_FORMAT = 1;
/** Length of an encoded value. */
export const DIRECTORY_VALUE_LENGTH = 1 + 8 + 32 + KT_HASH_LENGTH;

/** One account's entry in the directory. */
export interface DirectoryValue {
  /** Grows by at least one on every change of this account's value (first value: 1). */
  readonly version: number;
  /** The 32-byte Ed25519 account identity public key, as the server stores it. */
  readonly accountKey: Uint8Array;
  /** SHA-256 of the encoded signed device list (the client's `deviceListHash`). */
  readonly deviceListHash: Uint8Array;
}

function bytes32(name: string, b: unknown): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== 32) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} of 32 bytes`);
  }
}

/** The canonical encoding; `INVALID_ARGUMENT` for a version outside 1..2^53 − 1 or a wrong length. */
export function encodeDirectoryValue(value: DirectoryValue): Uint8Array {
  if (!Number.isSafeInteger(value.version) || value.version < 1) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected the version to be a safe integer ≥ 1');
  }
  bytes32('accountKey', value.accountKey);
  bytes32('deviceListHash', value.deviceListHash);
  const out = new Uint8Array(DIRECTORY_VALUE_LENGTH);
  out[0] = DIRECTORY_VALUE_FORMAT;
  new DataView(out.buffer).setBigUint64(1, BigInt(value.version));
  out.set(value.accountKey, 9);
  out.set(value.deviceListHash, 41);
  return out;
}

/**
 * Strict decoder: `UNKNOWN_VERSION` for another format byte, `MALFORMED_MESSAGE` for any other
 * length, a version of 0 or above 2^53 − 1.
 */
export function decodeDirectoryValue(bytes: Uint8Array): DirectoryValue {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('INVALID_ARGUMENT', 'expected a Uint8Array');
  if (bytes.length === 0) throw new ProtocolError('MALFORMED_MESSAGE', 'directory value: empty');
  if (bytes[0] !== DIRECTORY_VALUE_FORMAT) {
    throw new ProtocolError('UNKNOWN_VERSION', 'directory value: unknown format');
  }
  if (bytes.length !== DIRECTORY_VALUE_LENGTH) {
    throw new ProtocolError('MALFORMED_MESSAGE', `directory value: expected ${DIRECTORY_VALUE_LENGTH} bytes`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(1);
  if (v === 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'directory value: version out of range');
  }
  return { version: Number(v), accountKey: bytes.slice(9, 41), deviceListHash: bytes.slice(41, 73) };
}

/** `SHA-256(encodeDirectoryValue(value))`: what the map holds for the account. */
export function directoryValueHash(value: DirectoryValue, hash: KtHashFunction = ktSha256): Uint8Array {
  return hash(encodeDirectoryValue(value));
}
