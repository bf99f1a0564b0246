/**
 * Signed, one-time and ML-KEM prekeys (PQXDH §3.2) with the labelled signatures of
 * docs/protocol.md §1. Records are plain data with a `version` field. The signatures of the
 * signed prekey and of every ML-KEM prekey cover the key's creation time (whole Unix seconds),
 * so an initiator can refuse a key older than a bound (`checkPreKeyAge`) even when the server
 * serves an old one: a copied home's keys stop being usable once its device has rotated them.
 */
import { concatBytes, u32be, utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import type { RandomSource } from '../random.ts';
import type { DeviceIdentityKeyPair, DeviceIdentityPublic } from './identity.ts';
import { generateDhKeyPair, randomSecret } from './random-key.ts';

const SPK_LABEL = utf8('Parley/v2/signed-prekey');
const KEM_LABEL = utf8('Parley/v2/kem-prekey');

/**
 * How old (by its signed creation time) a signed prekey or last-resort ML-KEM prekey may be for
 * an initiator to use it: 14 days. Devices rotate both every 2 days while they connect
 * (docs/protocol.md §1.1), so only a device offline for 12 days in a row runs past it.
 */
export const MAX_PREKEY_AGE_MS = 14 * 24 * 3600 * 1000;

/** How far in the future a signed creation time may lie (clock skew between devices): 1 day. */
export const MAX_PREKEY_CLOCK_SKEW_MS = 24 * 3600 * 1000;

/** A creation time in milliseconds as the whole seconds that signatures and bundles carry. */
export function preKeySeconds(createdAtMs: number): number {
  if (!Number.isFinite(createdAtMs) || createdAtMs < 0 || createdAtMs / 1000 > 0xffffffff) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected createdAt between 1970 and 2106 in milliseconds');
  }
  return Math.floor(createdAtMs / 1000);
}

/** A signed X25519 prekey. `createdAt` (ms) is supplied by the caller: the core reads no clock. */
export interface SignedPreKeyRecord {
  readonly version: 1;
  readonly id: number;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
  readonly signature: Uint8Array;
  readonly createdAt: number;
}

/** A one-time X25519 prekey (unsigned, PQXDH §3.2). */
export interface OneTimePreKeyRecord {
  readonly version: 1;
  readonly id: number;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/**
 * A signed ML-KEM-1024 prekey, one-time or last-resort. `createdAt` (ms) is supplied by the
 * caller; records stored before signatures covered it decode with `createdAt` 0.
 */
export interface KemPreKeyRecord {
  readonly version: 1;
  readonly id: number;
  readonly lastResort: boolean;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  readonly signature: Uint8Array;
  readonly createdAt: number;
}

/** The bytes a signed prekey's signature covers (docs/protocol.md §1.1). */
function spkMessage(id: number, createdAtSeconds: number, publicKey: Uint8Array): Uint8Array {
  return concatBytes(SPK_LABEL, u32be(id), u32be(createdAtSeconds), publicKey);
}

/** The bytes an ML-KEM prekey's signature covers (docs/protocol.md §1.1). */
function kemMessage(id: number, lastResort: boolean, createdAtSeconds: number, publicKey: Uint8Array): Uint8Array {
  return concatBytes(KEM_LABEL, u32be(id), new Uint8Array([lastResort ? 1 : 0]), u32be(createdAtSeconds), publicKey);
}

/** Generates a signed prekey with id `id`, signed by the device identity signing key. */
export async function generateSignedPreKey(
  provider: CryptoProvider,
  random: RandomSource,
  identity: DeviceIdentityKeyPair,
  id: number,
  createdAt: number,
): Promise<SignedPreKeyRecord> {
  const { publicKey, privateKey } = await generateDhKeyPair(provider, random);
  const signature = await provider.ed25519Sign(
    identity.signingPrivateKey,
    spkMessage(id, preKeySeconds(createdAt), publicKey),
  );
  return { version: 1, id, publicKey, privateKey, signature, createdAt };
}

/** Generates `count` one-time prekeys with consecutive ids from `firstId`. */
export async function generateOneTimePreKeys(
  provider: CryptoProvider,
  random: RandomSource,
  firstId: number,
  count: number,
): Promise<OneTimePreKeyRecord[]> {
  const out: OneTimePreKeyRecord[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ version: 1, id: firstId + i, ...(await generateDhKeyPair(provider, random)) });
  }
  return out;
}

/** Generates a signed ML-KEM-1024 prekey from 64 injected random bytes, created at `createdAt` (ms). */
export async function generateKemPreKey(
  provider: CryptoProvider,
  random: RandomSource,
  identity: DeviceIdentityKeyPair,
  id: number,
  lastResort: boolean,
  createdAt: number,
): Promise<KemPreKeyRecord> {
  const seconds = preKeySeconds(createdAt);
  const { publicKey, secretKey } = await provider.mlKemKeyPair(randomSecret(random, 64));
  const signature = await provider.ed25519Sign(
    identity.signingPrivateKey,
    kemMessage(id, lastResort, seconds, publicKey),
  );
  return { version: 1, id, lastResort, publicKey, secretKey, signature, createdAt };
}

/** Verifies a signed prekey's signature (which covers its id and creation time) under a device identity. */
export function verifySignedPreKey(
  provider: CryptoProvider,
  identity: DeviceIdentityPublic,
  id: number,
  createdAtSeconds: number,
  publicKey: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return provider.ed25519Verify(identity.signingKey, spkMessage(id, createdAtSeconds, publicKey), signature);
}

/** Verifies a KEM prekey's signature (which covers its id, last-resort flag and creation time). */
export function verifyKemPreKey(
  provider: CryptoProvider,
  identity: DeviceIdentityPublic,
  id: number,
  lastResort: boolean,
  createdAtSeconds: number,
  publicKey: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return provider.ed25519Verify(
    identity.signingKey,
    kemMessage(id, lastResort, createdAtSeconds, publicKey),
    signature,
  );
}

/**
 * Refuses a prekey whose signed creation time (`createdAtSeconds`) is more than `maxAgeMs` before
 * `now` (ms), or more than `MAX_PREKEY_CLOCK_SKEW_MS` after it, with `STALE_PREKEY`. `what` names
 * the key in the error.
 */
export function checkPreKeyAge(what: string, createdAtSeconds: number, now: number, maxAgeMs: number): void {
  const created = createdAtSeconds * 1000;
  if (now - created > maxAgeMs) {
    throw new ProtocolError('STALE_PREKEY', `${what} is older than the ${Math.round(maxAgeMs / 3600_000)} h bound`);
  }
  if (created - now > MAX_PREKEY_CLOCK_SKEW_MS) {
    throw new ProtocolError('STALE_PREKEY', `${what} claims a creation time in the future`);
  }
}
