/**
 * The MLS cipher suite implementation handed to ts-mls, built on the host's `CryptoProvider`
 * (docs/protocol.md §14.1).
 *
 * ts-mls's default implementation reaches SHA-256, HMAC and HKDF through asynchronous WebCrypto
 * calls that import a key for every MAC. Tree hashes, the secret tree and the key schedule make
 * thousands of such calls per commit in a large group, so on Node most of a commit's time went
 * to that overhead (a member applying a commit to a 1,000-member group: ~1.06 s, ~0.12 s on the
 * provider). Here hash and MAC are the provider's own primitives (node:crypto on Node,
 * WebCrypto in browsers), HKDF-Extract is HMAC (RFC 5869 §2.2) and HKDF-Expand is
 * `@noble/hashes`, because neither platform exposes Expand on its own. Signatures, HPKE and
 * AEAD stay ts-mls's defaults. Every output is the same bytes, so members on either platform
 * interoperate (test/groups/group.test.ts runs a group across both providers).
 */
import { expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CiphersuiteImpl, ClientConfig } from 'ts-mls';
import { constantTimeEqual } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import { groupSuite } from './mls.ts';

/** HKDF-SHA-256's output and salt length (RFC 5869 §2.2: an absent salt is HashLen zeros). */
const HASH_LENGTH = 32;
const ZERO_SALT = new Uint8Array(HASH_LENGTH);

const byProvider = new WeakMap<CryptoProvider, Promise<CiphersuiteImpl>>();
const byConfig = new WeakMap<ClientConfig, Promise<CiphersuiteImpl>>();

/** The suite on `provider` (created once per provider). */
function groupSuiteFor(provider: CryptoProvider): Promise<CiphersuiteImpl> {
  let suite = byProvider.get(provider);
  if (suite === undefined) {
    suite = build(provider);
    byProvider.set(provider, suite);
  }
  return suite;
}

async function build(provider: CryptoProvider): Promise<CiphersuiteImpl> {
  // ts-mls's own implementation of the suite, with hash and KDF replaced.
  const base = await groupSuite();
  return {
    ...base,
    hash: {
      digest: (data) => provider.sha256(data),
      mac: (key, data) => provider.hmacSha256(key, data),
      async verifyMac(key, mac, data) {
        return constantTimeEqual(await provider.hmacSha256(key, data), mac);
      },
    },
    kdf: {
      size: HASH_LENGTH,
      // An empty salt and HashLen zeros give the same HMAC key (RFC 2104 pads keys with zeros);
      // WebCrypto refuses an empty HMAC key, so the zeros are passed.
      extract: (salt, ikm) => provider.hmacSha256(salt.length === 0 ? ZERO_SALT : salt, ikm),
      expand: async (prk, info, length) => expand(sha256, prk, info, length),
    },
  };
}

/** Ties a group configuration to the provider whose suite its groups use. */
export function bindGroupSuite(config: ClientConfig, provider: CryptoProvider): void {
  byConfig.set(config, groupSuiteFor(provider));
}

/** The suite bound to `config` by `groupClientConfig`. */
export function suiteOf(config: ClientConfig): Promise<CiphersuiteImpl> {
  const suite = byConfig.get(config);
  if (suite === undefined) {
    throw new ProtocolError('INTERNAL', 'the group configuration was not made by groupClientConfig');
  }
  return suite;
}
