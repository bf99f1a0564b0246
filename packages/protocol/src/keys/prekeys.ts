/**
 * Signed, one-time and ML-KEM prekeys (PQXDH §3.2) with the labelled signatures of
 * docs/protocol.md §1. Records are plain data with a `version` field.
 */
import { concatBytes, u32be, utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import type { RandomSource } from '../random.ts';
import type { DeviceIdentityKeyPair, DeviceIdentityPublic } from './identity.ts';
import { generateDhKeyPair, randomSecret } from './random-key.ts';

const SPK_LABEL = utf8('Parley/v1/signed-prekey');
const KEM_LABEL = utf8('Parley/v1/kem-prekey');

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

/** A signed ML-KEM-1024 prekey, one-time or last-resort. */
export interface KemPreKeyRecord {
  readonly version: 1;
  readonly id: number;
  readonly lastResort: boolean;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  readonly signature: Uint8Array;
}

function spkMessage(id: number, publicKey: Uint8Array): Uint8Array {
  return concatBytes(SPK_LABEL, u32be(id), publicKey);
}

function kemMessage(id: number, lastResort: boolean, publicKey: Uint8Array): Uint8Array {
  return concatBytes(KEM_LABEL, u32be(id), new Uint8Array([lastResort ? 1 : 0]), publicKey);
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
  const signature = await provider.ed25519Sign(identity.signingPrivateKey, spkMessage(id, publicKey));
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

/** Generates a signed ML-KEM-1024 prekey from 64 injected random bytes. */
export async function generateKemPreKey(
  provider: CryptoProvider,
  random: RandomSource,
  identity: DeviceIdentityKeyPair,
  id: number,
  lastResort: boolean,
): Promise<KemPreKeyRecord> {
  const { publicKey, secretKey } = await provider.mlKemKeyPair(randomSecret(random, 64));
  const signature = await provider.ed25519Sign(identity.signingPrivateKey, kemMessage(id, lastResort, publicKey));
  return { version: 1, id, lastResort, publicKey, secretKey, signature };
}

/** Verifies a signed prekey's signature under a device identity. */
export function verifySignedPreKey(
  provider: CryptoProvider,
  identity: DeviceIdentityPublic,
  id: number,
  publicKey: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return provider.ed25519Verify(identity.signingKey, spkMessage(id, publicKey), signature);
}

/** Verifies a KEM prekey's signature (which covers its id and last-resort flag). */
export function verifyKemPreKey(
  provider: CryptoProvider,
  identity: DeviceIdentityPublic,
  id: number,
  lastResort: boolean,
  publicKey: Uint8Array,
  signature: Uint8Array,
): Promise<boolean> {
  return provider.ed25519Verify(identity.signingKey, kemMessage(id, lastResort, publicKey), signature);
}
