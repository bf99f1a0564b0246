/**
 * Storage encodings of private key records: a version byte, a record-type byte, then a fixed
 * layout (each record has a fixed size; a KEM prekey one of two, by the form of its secret key).
 * Decoders check version, type and exact length.
 */
import { concatBytes, u32be } from '../bytes.ts';
import { MLKEM_KEYGEN_SEED_LENGTH, MLKEM_PUBLIC_KEY_LENGTH, MLKEM_SECRET_KEY_LENGTH } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import type { AccountIdentityKeyPair, DeviceIdentityKeyPair } from './identity.ts';
import { decodeDeviceIdentityPublic, encodeDeviceIdentityPublic } from './identity.ts';
import type { KemPreKeyRecord, OneTimePreKeyRecord, SignedPreKeyRecord } from './prekeys.ts';

const VERSION = 1;
const TYPE = { account: 1, device: 2, signed: 3, oneTime: 4, kem: 5 } as const;

function header(type: number): Uint8Array {
  return new Uint8Array([VERSION, type]);
}

function open(bytes: Uint8Array, type: number, length: number | readonly number[], name: string): DataView {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2) {
    throw new ProtocolError('MALFORMED_MESSAGE', `${name} record too short`);
  }
  if (bytes[0] !== VERSION) throw new ProtocolError('UNKNOWN_VERSION', `unknown ${name} record version`);
  const lengths = typeof length === 'number' ? [length] : length;
  if (bytes[1] !== type || !lengths.includes(bytes.length)) {
    throw new ProtocolError('MALFORMED_MESSAGE', `expected a ${name} record of ${lengths.join(' or ')} bytes`);
  }
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Encodes an account identity key pair (66 bytes). */
export function encodeAccountIdentityRecord(k: AccountIdentityKeyPair): Uint8Array {
  return concatBytes(header(TYPE.account), k.publicKey, k.privateKey);
}
/** Decodes an account identity key pair. */
export function decodeAccountIdentityRecord(b: Uint8Array): AccountIdentityKeyPair {
  open(b, TYPE.account, 66, 'account identity');
  return { version: 1, publicKey: b.slice(2, 34), privateKey: b.slice(34, 66) };
}

/** Encodes a device identity key pair (194 bytes). */
export function encodeDeviceIdentityRecord(k: DeviceIdentityKeyPair): Uint8Array {
  return concatBytes(
    header(TYPE.device),
    encodeDeviceIdentityPublic(k.publicIdentity),
    k.signingPrivateKey,
    k.dhPrivateKey,
  );
}
/** Decodes a device identity key pair. */
export function decodeDeviceIdentityRecord(b: Uint8Array): DeviceIdentityKeyPair {
  open(b, TYPE.device, 194, 'device identity');
  return {
    version: 1,
    publicIdentity: decodeDeviceIdentityPublic(b.slice(2, 130)),
    signingPrivateKey: b.slice(130, 162),
    dhPrivateKey: b.slice(162, 194),
  };
}

/** Encodes a signed prekey record (142 bytes; createdAt as a float64 of milliseconds). */
export function encodeSignedPreKeyRecord(r: SignedPreKeyRecord): Uint8Array {
  const at = new Uint8Array(8);
  new DataView(at.buffer).setFloat64(0, r.createdAt, false);
  return concatBytes(header(TYPE.signed), u32be(r.id), r.publicKey, r.privateKey, r.signature, at);
}
/** Decodes a signed prekey record. */
export function decodeSignedPreKeyRecord(b: Uint8Array): SignedPreKeyRecord {
  const v = open(b, TYPE.signed, 142, 'signed prekey');
  return {
    version: 1,
    id: v.getUint32(2, false),
    publicKey: b.slice(6, 38),
    privateKey: b.slice(38, 70),
    signature: b.slice(70, 134),
    createdAt: v.getFloat64(134, false),
  };
}

/** Encodes a one-time prekey record (70 bytes). */
export function encodeOneTimePreKeyRecord(r: OneTimePreKeyRecord): Uint8Array {
  return concatBytes(header(TYPE.oneTime), u32be(r.id), r.publicKey, r.privateKey);
}
/** Decodes a one-time prekey record. */
export function decodeOneTimePreKeyRecord(b: Uint8Array): OneTimePreKeyRecord {
  const v = open(b, TYPE.oneTime, 70, 'one-time prekey');
  return { version: 1, id: v.getUint32(2, false), publicKey: b.slice(6, 38), privateKey: b.slice(38, 70) };
}

/**
 * A KEM prekey record's length for each form of its secret key (expanded, or seed: `KemKeyPair`),
 * without (records written before signatures covered the creation time) and with the trailing
 * float64 `createdAt`.
 */
const KEM_LENGTHS_UNDATED = [MLKEM_SECRET_KEY_LENGTH, MLKEM_KEYGEN_SEED_LENGTH].map(
  (secret) => 2 + 4 + 1 + MLKEM_PUBLIC_KEY_LENGTH + secret + 64,
);
const KEM_LENGTHS = [...KEM_LENGTHS_UNDATED.map((n) => n + 8), ...KEM_LENGTHS_UNDATED];

/** Encodes an ML-KEM prekey record (createdAt as a trailing float64 of milliseconds). */
export function encodeKemPreKeyRecord(r: KemPreKeyRecord): Uint8Array {
  const at = new Uint8Array(8);
  new DataView(at.buffer).setFloat64(0, r.createdAt, false);
  return concatBytes(
    header(TYPE.kem),
    u32be(r.id),
    new Uint8Array([r.lastResort ? 1 : 0]),
    r.publicKey,
    r.secretKey,
    r.signature,
    at,
  );
}
/** Decodes an ML-KEM prekey record; an undated (older) record has `createdAt` 0. */
export function decodeKemPreKeyRecord(b: Uint8Array): KemPreKeyRecord {
  const v = open(b, TYPE.kem, KEM_LENGTHS, 'KEM prekey');
  const flag = b[6];
  if (flag !== 0 && flag !== 1) throw new ProtocolError('MALFORMED_MESSAGE', 'KEM prekey record flag');
  const dated = !KEM_LENGTHS_UNDATED.includes(b.length);
  const end = dated ? b.length - 8 : b.length;
  const pk = 7 + MLKEM_PUBLIC_KEY_LENGTH;
  const sk = end - 64;
  const createdAt = dated ? v.getFloat64(end, false) : 0;
  if (!Number.isFinite(createdAt)) throw new ProtocolError('MALFORMED_MESSAGE', 'KEM prekey record creation time');
  return {
    version: 1,
    id: v.getUint32(2, false),
    lastResort: flag === 1,
    publicKey: b.slice(7, pk),
    secretKey: b.slice(pk, sk),
    signature: b.slice(sk, sk + 64),
    createdAt,
  };
}
