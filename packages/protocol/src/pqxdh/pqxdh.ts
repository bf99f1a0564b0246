/**
 * PQXDH key agreement (Signal, "The PQXDH Key Agreement Protocol" §3) over X25519, SHA-256 and
 * ML-KEM-1024, followed by the Double Ratchet initialisation of each side (DR §3.3).
 */
import { concatBytes, constantTimeEqual, utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import {
  type DeviceIdentityKeyPair,
  decodeDeviceIdentityPublic,
  encodeDeviceIdentityPublic,
  verifyDeviceIdentityPublic,
} from '../keys/identity.ts';
import {
  checkPreKeyAge,
  type KemPreKeyRecord,
  MAX_PREKEY_AGE_MS,
  type OneTimePreKeyRecord,
  type SignedPreKeyRecord,
  verifyKemPreKey,
  verifySignedPreKey,
} from '../keys/prekeys.ts';
import { generateDhKeyPair, randomSecret } from '../keys/random-key.ts';
import type { RandomSource } from '../random.ts';
import { initReceiver, initSender, ratchetDecrypt } from '../ratchet/ratchet.ts';
import type { SessionState } from '../ratchet/state.ts';
import type { InitialMessage } from '../wire/initial-message.ts';
import type { PreKeyBundle } from '../wire/prekey-bundle.ts';

const INFO = utf8('Parley_PQXDH_X25519_SHA-256_ML-KEM-1024');
const F = new Uint8Array(32).fill(0xff);
const ZERO_SALT = new Uint8Array(32);

/** PQXDH §3.3 KDF: HKDF over F ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS. */
async function deriveSharedSecret(provider: CryptoProvider, parts: Uint8Array[]): Promise<Uint8Array> {
  return provider.hkdfSha256(concatBytes(F, ...parts), ZERO_SALT, INFO, 32);
}

/** The initiator's clock reading and bound for prekey ages (docs/protocol.md §1.1). */
export interface PreKeyAgeCheck {
  /** The initiator's clock (ms). */
  readonly now: number;
  /** Defaults to `MAX_PREKEY_AGE_MS`. */
  readonly maxAgeMs?: number | undefined;
}

/**
 * Initiator side (PQXDH §3.3): verifies Bob's bundle (signatures, and the signed creation time of
 * the signed prekey and of a last-resort KEM prekey against `age`: `STALE_PREKEY`), encapsulates
 * to his KEM prekey, derives SK and returns a sending session that wraps messages as initial
 * messages until the first reply.
 */
export async function initiate(
  provider: CryptoProvider,
  random: RandomSource,
  ourIdentity: DeviceIdentityKeyPair,
  bundle: PreKeyBundle,
  age: PreKeyAgeCheck,
): Promise<SessionState> {
  const theirs = decodeDeviceIdentityPublic(bundle.identity);
  if (!(await verifyDeviceIdentityPublic(provider, theirs))) {
    throw new ProtocolError('INVALID_SIGNATURE', 'bundle identity binding signature does not verify');
  }
  const spk = bundle.signedPreKey;
  if (!(await verifySignedPreKey(provider, theirs, spk.id, spk.createdAt, spk.publicKey, spk.signature))) {
    throw new ProtocolError('INVALID_SIGNATURE', 'signed prekey signature does not verify');
  }
  const maxAge = age.maxAgeMs ?? MAX_PREKEY_AGE_MS;
  checkPreKeyAge('signed prekey', spk.createdAt, age.now, maxAge);
  const kem = bundle.kemPreKey;
  if (kem === undefined) {
    throw new ProtocolError('MISSING_PQ_PREKEY', 'bundle has no ML-KEM prekey; refusing classical-only X3DH');
  }
  if (!(await verifyKemPreKey(provider, theirs, kem.id, kem.lastResort, kem.createdAt, kem.publicKey, kem.signature))) {
    throw new ProtocolError('INVALID_SIGNATURE', 'KEM prekey signature does not verify');
  }
  // A one-time KEM prekey is consumed once (and its private half deleted after use), so it may
  // wait on the server for as long as its device is quiet; the reusable last-resort key may not.
  if (kem.lastResort) checkPreKeyAge('last-resort ML-KEM prekey', kem.createdAt, age.now, maxAge);

  const ephemeral = await generateDhKeyPair(provider, random);
  const { ciphertext, sharedSecret: ss } = await provider.mlKemEncapsulate(kem.publicKey, randomSecret(random, 32));
  const dh1 = await provider.x25519(ourIdentity.dhPrivateKey, spk.publicKey);
  const dh2 = await provider.x25519(ephemeral.privateKey, theirs.dhKey);
  const dh3 = await provider.x25519(ephemeral.privateKey, spk.publicKey);
  const parts = [dh1, dh2, dh3];
  if (bundle.oneTimePreKey !== undefined) {
    parts.push(await provider.x25519(ephemeral.privateKey, bundle.oneTimePreKey.publicKey));
  }
  parts.push(ss);
  const sk = await deriveSharedSecret(provider, parts);

  const localIdentity = encodeDeviceIdentityPublic(ourIdentity.publicIdentity);
  return initSender(provider, random, {
    sharedSecret: sk,
    localIdentity,
    remoteIdentity: bundle.identity.slice(),
    associatedData: concatBytes(localIdentity, bundle.identity),
    baseKey: ephemeral.publicKey,
    remoteRatchetKey: spk.publicKey,
    pendingInitial: {
      recipientSigningKey: theirs.signingKey,
      signedPreKeyId: spk.id,
      oneTimePreKeyId: bundle.oneTimePreKey?.id,
      kemPreKeyId: kem.id,
      baseKey: ephemeral.publicKey,
      kemCiphertext: ciphertext,
    },
  });
}

/** The responder's private prekeys an initial message refers to. */
export interface ResponderPreKeys {
  readonly signedPreKey: SignedPreKeyRecord;
  readonly oneTimePreKey: OneTimePreKeyRecord | undefined;
  readonly kemPreKey: KemPreKeyRecord;
}

/**
 * Responder side (PQXDH §3.4): recomputes SK from the initial message and our prekeys,
 * initialises the receiving session and decrypts the embedded first ratchet message.
 */
export async function respond(
  provider: CryptoProvider,
  random: RandomSource,
  ourIdentity: DeviceIdentityKeyPair,
  message: InitialMessage,
  keys: ResponderPreKeys,
): Promise<{ state: SessionState; plaintext: Uint8Array }> {
  if (!constantTimeEqual(message.recipientSigningKey, ourIdentity.publicIdentity.signingKey)) {
    throw new ProtocolError('WRONG_RECIPIENT', 'initial message is addressed to another device');
  }
  const theirs = decodeDeviceIdentityPublic(message.senderIdentity);
  if (!(await verifyDeviceIdentityPublic(provider, theirs))) {
    throw new ProtocolError('INVALID_SIGNATURE', 'sender identity binding signature does not verify');
  }
  const ss = await provider.mlKemDecapsulate(keys.kemPreKey.secretKey, message.kemCiphertext);
  const dh1 = await provider.x25519(keys.signedPreKey.privateKey, theirs.dhKey);
  const dh2 = await provider.x25519(ourIdentity.dhPrivateKey, message.baseKey);
  const dh3 = await provider.x25519(keys.signedPreKey.privateKey, message.baseKey);
  const parts = [dh1, dh2, dh3];
  if (keys.oneTimePreKey !== undefined) {
    parts.push(await provider.x25519(keys.oneTimePreKey.privateKey, message.baseKey));
  }
  parts.push(ss);
  const sk = await deriveSharedSecret(provider, parts);

  const localIdentity = encodeDeviceIdentityPublic(ourIdentity.publicIdentity);
  const state = initReceiver({
    sharedSecret: sk,
    localIdentity,
    remoteIdentity: message.senderIdentity.slice(),
    associatedData: concatBytes(message.senderIdentity, localIdentity),
    baseKey: message.baseKey.slice(),
    signedPreKey: { publicKey: keys.signedPreKey.publicKey, privateKey: keys.signedPreKey.privateKey },
  });
  return ratchetDecrypt(provider, random, state, message.message);
}
