/**
 * The Double Ratchet's key derivation functions (Double Ratchet §5.2, with the AEAD deviation
 * in docs/protocol.md §3): KDF_RK over HKDF, KDF_CK over HMAC with constants 0x01/0x02, and the
 * expansion of a message key into an AES-256-GCM key and nonce.
 */
import { utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';

const ROOT_INFO = utf8('Parley_Ratchet_RootKey');
const MESSAGE_INFO = utf8('Parley_Ratchet_MessageKeys');
const MESSAGE_KEY_CONSTANT = new Uint8Array([0x01]);
const CHAIN_KEY_CONSTANT = new Uint8Array([0x02]);
const ZERO_SALT = new Uint8Array(32);

/** KDF_RK (DR §5.2): HKDF(salt = root key, ikm = DH output) → new root key and chain key. */
export async function kdfRootKey(
  provider: CryptoProvider,
  rootKey: Uint8Array,
  dhOutput: Uint8Array,
): Promise<{ rootKey: Uint8Array; chainKey: Uint8Array }> {
  const out = await provider.hkdfSha256(dhOutput, rootKey, ROOT_INFO, 64);
  return { rootKey: out.slice(0, 32), chainKey: out.slice(32, 64) };
}

/** KDF_CK (DR §5.2): message key = HMAC(ck, 0x01), next chain key = HMAC(ck, 0x02). */
export async function kdfChainKey(
  provider: CryptoProvider,
  chainKey: Uint8Array,
): Promise<{ messageKey: Uint8Array; chainKey: Uint8Array }> {
  const [messageKey, next] = await Promise.all([
    provider.hmacSha256(chainKey, MESSAGE_KEY_CONSTANT),
    provider.hmacSha256(chainKey, CHAIN_KEY_CONSTANT),
  ]);
  return { messageKey, chainKey: next };
}

/** Expands a message key into the AES-256-GCM key (32 bytes) and nonce (12 bytes) it encrypts with. */
export async function messageKeyMaterial(
  provider: CryptoProvider,
  messageKey: Uint8Array,
): Promise<{ key: Uint8Array; nonce: Uint8Array }> {
  const out = await provider.hkdfSha256(messageKey, ZERO_SALT, MESSAGE_INFO, 44);
  return { key: out.subarray(0, 32), nonce: out.subarray(32, 44) };
}
