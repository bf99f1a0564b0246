/**
 * An incremental SHA-256 from the provider where the platform has one (node:crypto), otherwise
 * from `@noble/hashes` (WebCrypto has no incremental digest; BRIEF: noble only for what neither
 * platform has).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import type { CryptoProvider, Sha256Hasher } from '../crypto/provider.ts';

/** A fresh incremental SHA-256. */
export function createSha256Hasher(crypto: CryptoProvider): Sha256Hasher {
  if (crypto.sha256Hasher !== undefined) return crypto.sha256Hasher();
  const hash = sha256.create();
  return {
    update(data) {
      hash.update(data);
    },
    digest: () => hash.digest(),
  };
}
