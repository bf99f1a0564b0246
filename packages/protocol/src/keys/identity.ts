/**
 * Account and device identity keys (docs/protocol.md §1). A device identity is an Ed25519
 * signing key plus an X25519 DH key bound to it by a labelled signature — the documented
 * substitute for XEdDSA, which no platform offers.
 */
import { assertBytes, concatBytes, utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import type { RandomSource } from '../random.ts';
import { generateDhKeyPair, randomSecret } from './random-key.ts';

const BINDING_LABEL = utf8('Parley/v1/identity-dh');

/** Encoded length of a `DeviceIdentityPublic`: signingKey ‖ dhKey ‖ binding. */
export const DEVICE_IDENTITY_PUBLIC_LENGTH = 128;

/** An account identity key pair (Ed25519; private key is the 32-byte seed). */
export interface AccountIdentityKeyPair {
  readonly version: 1;
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** The public half of a device identity. */
export interface DeviceIdentityPublic {
  readonly signingKey: Uint8Array;
  readonly dhKey: Uint8Array;
  readonly binding: Uint8Array;
}

/** A device identity with its private keys. */
export interface DeviceIdentityKeyPair {
  readonly version: 1;
  readonly publicIdentity: DeviceIdentityPublic;
  readonly signingPrivateKey: Uint8Array;
  readonly dhPrivateKey: Uint8Array;
}

/** Generates an account identity key from 32 injected random bytes. */
export async function generateAccountIdentity(
  provider: CryptoProvider,
  random: RandomSource,
): Promise<AccountIdentityKeyPair> {
  const privateKey = randomSecret(random, 32);
  return { version: 1, privateKey, publicKey: await provider.ed25519PublicKey(privateKey) };
}

/** Generates a device identity: Ed25519 signing key, X25519 DH key and the binding signature. */
export async function generateDeviceIdentity(
  provider: CryptoProvider,
  random: RandomSource,
): Promise<DeviceIdentityKeyPair> {
  const signingPrivateKey = randomSecret(random, 32);
  const { privateKey: dhPrivateKey, publicKey: dhKey } = await generateDhKeyPair(provider, random);
  const signingKey = await provider.ed25519PublicKey(signingPrivateKey);
  const binding = await provider.ed25519Sign(signingPrivateKey, concatBytes(BINDING_LABEL, dhKey));
  return { version: 1, publicIdentity: { signingKey, dhKey, binding }, signingPrivateKey, dhPrivateKey };
}

/** Encodes a public device identity as 128 bytes. */
export function encodeDeviceIdentityPublic(identity: DeviceIdentityPublic): Uint8Array {
  assertBytes('signingKey', identity.signingKey, 32);
  assertBytes('dhKey', identity.dhKey, 32);
  assertBytes('binding', identity.binding, 64);
  return concatBytes(identity.signingKey, identity.dhKey, identity.binding);
}

/** Decodes a 128-byte public device identity (lengths only; verify it before trusting it). */
export function decodeDeviceIdentityPublic(bytes: Uint8Array): DeviceIdentityPublic {
  if (!(bytes instanceof Uint8Array) || bytes.length !== DEVICE_IDENTITY_PUBLIC_LENGTH) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'expected a device identity of 128 bytes');
  }
  return { signingKey: bytes.slice(0, 32), dhKey: bytes.slice(32, 64), binding: bytes.slice(64, 128) };
}

/** True when the DH key is bound to the signing key by a valid strict Ed25519 signature. */
export async function verifyDeviceIdentityPublic(
  provider: CryptoProvider,
  identity: DeviceIdentityPublic,
): Promise<boolean> {
  return provider.ed25519Verify(identity.signingKey, concatBytes(BINDING_LABEL, identity.dhKey), identity.binding);
}
