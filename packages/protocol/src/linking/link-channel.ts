/**
 * Linking a new device (docs/protocol.md §13): a short link code carries a channel id and a
 * one-time secret from the new device to an existing one (by eye or QR, never through the
 * server). With it the existing device
 *  1. authenticates the new device's identity, which the new device published on the channel
 *     with a MAC under the secret (the server cannot substitute it without the secret), and
 *  2. seals the account data for the new device: X25519 from a fresh ephemeral key to the new
 *     device's identity DH key, combined with the secret in HKDF, then AES-256-GCM.
 * The server relays both halves and can read neither.
 */
import { assertBytes, concatBytes, constantTimeEqual, utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import {
  DEVICE_IDENTITY_PUBLIC_LENGTH,
  type DeviceIdentityKeyPair,
  decodeDeviceIdentityPublic,
} from '../keys/identity.ts';
import { generateDhKeyPair } from '../keys/random-key.ts';
import type { RandomSource } from '../random.ts';

/** Length of a link channel id in bytes (the public half of a link code). */
export const LINK_CHANNEL_LENGTH = 16;
/** Length of the MAC a new device publishes with its offer (HMAC-SHA256). */
export const LINK_OFFER_MAC_LENGTH = 32;
const SECRET_LENGTH = 16;
const KEYS_INFO = utf8('Parley/v1/link-keys');
const OFFER_LABEL = utf8('Parley/v1/link-offer');
const SEAL_INFO = utf8('Parley/v1/link-seal');

/** What the link code carries. */
export interface LinkCode {
  readonly channel: Uint8Array;
  readonly secret: Uint8Array;
}

/**
 * Draws a fresh channel id and secret. The channel's top bit is cleared so the code's base64url
 * text never starts with `-` (which a command line would take for an option); the channel is a
 * public rendezvous id, the 128-bit secret is untouched.
 */
export function createLinkCode(random: RandomSource): LinkCode {
  const channel = random(LINK_CHANNEL_LENGTH).slice();
  const secret = random(SECRET_LENGTH);
  assertBytes('channel', channel, LINK_CHANNEL_LENGTH);
  assertBytes('secret', secret, SECRET_LENGTH);
  channel[0] = (channel[0] as number) & 0x7f;
  return { channel, secret };
}

/** The code's bytes: channel ‖ secret (32 bytes; shown as base64url or a QR code). */
export function encodeLinkCode(code: LinkCode): Uint8Array {
  return concatBytes(code.channel, code.secret);
}

/** Parses link code bytes. */
export function decodeLinkCode(bytes: Uint8Array): LinkCode {
  if (!(bytes instanceof Uint8Array) || bytes.length !== LINK_CHANNEL_LENGTH + SECRET_LENGTH) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'expected a link code of 32 bytes');
  }
  return { channel: bytes.slice(0, LINK_CHANNEL_LENGTH), secret: bytes.slice(LINK_CHANNEL_LENGTH) };
}

async function macKey(provider: CryptoProvider, code: LinkCode): Promise<Uint8Array> {
  return provider.hkdfSha256(code.secret, code.channel, KEYS_INFO, 32);
}

function offerBytes(code: LinkCode, identity: Uint8Array, name: string): Uint8Array {
  const nameBytes = utf8(name);
  return concatBytes(OFFER_LABEL, code.channel, identity, nameBytes);
}

/** The MAC the new device publishes with its identity and chosen device name. */
export async function linkOfferMac(
  provider: CryptoProvider,
  code: LinkCode,
  identity: Uint8Array,
  name: string,
): Promise<Uint8Array> {
  assertBytes('identity', identity, DEVICE_IDENTITY_PUBLIC_LENGTH);
  return provider.hmacSha256(await macKey(provider, code), offerBytes(code, identity, name));
}

/** Checks a published offer against the code; throws `INVALID_SIGNATURE` for a wrong code or a substituted key. */
export async function verifyLinkOffer(
  provider: CryptoProvider,
  code: LinkCode,
  identity: Uint8Array,
  name: string,
  mac: Uint8Array,
): Promise<void> {
  const expected = await linkOfferMac(provider, code, identity, name);
  if (!constantTimeEqual(expected, mac)) {
    throw new ProtocolError(
      'INVALID_SIGNATURE',
      'the link offer does not match the code (wrong code, or a substituted key)',
    );
  }
}

async function sealKey(provider: CryptoProvider, code: LinkCode, shared: Uint8Array): Promise<Uint8Array> {
  return provider.hkdfSha256(concatBytes(shared, code.secret), code.channel, SEAL_INFO, 32);
}

function sealAad(code: LinkCode, identity: Uint8Array, ephemeral: Uint8Array): Uint8Array {
  return concatBytes(SEAL_INFO, code.channel, identity, ephemeral);
}

/** Seals `payload` for the new device (identity from its verified offer): ephemeral ‖ nonce ‖ ciphertext. */
export async function sealLinkPayload(
  provider: CryptoProvider,
  random: RandomSource,
  code: LinkCode,
  identity: Uint8Array,
  payload: Uint8Array,
): Promise<Uint8Array> {
  const recipient = decodeDeviceIdentityPublic(identity);
  const eph = await generateDhKeyPair(provider, random);
  const key = await sealKey(provider, code, await provider.x25519(eph.privateKey, recipient.dhKey));
  const nonce = random(12);
  const ct = await provider.aesGcmEncrypt(key, nonce, payload, sealAad(code, identity, eph.publicKey));
  return concatBytes(eph.publicKey, nonce, ct);
}

/** Opens a sealed payload on the new device; throws `DECRYPTION_FAILED` when it was not sealed for this code and key. */
export async function openLinkPayload(
  provider: CryptoProvider,
  code: LinkCode,
  device: DeviceIdentityKeyPair,
  identity: Uint8Array,
  sealed: Uint8Array,
): Promise<Uint8Array> {
  if (!(sealed instanceof Uint8Array) || sealed.length < 32 + 12 + 16) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'expected a sealed link payload');
  }
  const ephemeral = sealed.slice(0, 32);
  const key = await sealKey(provider, code, await provider.x25519(device.dhPrivateKey, ephemeral));
  const plain = await provider.aesGcmDecrypt(
    key,
    sealed.slice(32, 44),
    sealed.slice(44),
    sealAad(code, identity, ephemeral),
  );
  if (plain === null) throw new ProtocolError('DECRYPTION_FAILED', 'the link payload does not open with this code');
  return plain;
}
