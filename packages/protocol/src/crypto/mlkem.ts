/**
 * ML-KEM-1024 (FIPS 203) for both providers: `@noble/post-quantum` (audited) everywhere, since
 * neither OpenSSL 3.0 nor WebCrypto offers it; where the runtime's OpenSSL does (Node.js ≥ 24.7,
 * `mlkem-openssl.ts`), the node:crypto provider passes its three operations in. Inputs are
 * checked here, with typed errors, whichever implementation runs.
 */
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { assertBytes } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import {
  type CryptoProvider,
  MLKEM_CIPHERTEXT_LENGTH,
  MLKEM_ENCAPS_SEED_LENGTH,
  MLKEM_KEYGEN_SEED_LENGTH,
  MLKEM_PUBLIC_KEY_LENGTH,
  MLKEM_SECRET_KEY_LENGTH,
} from './provider.ts';

/** The ML-KEM part of a provider. */
export type MlKem = Pick<CryptoProvider, 'mlKemKeyPair' | 'mlKemEncapsulate' | 'mlKemDecapsulate'>;

/** noble's ML-KEM, unchecked (`mlKemMethods` checks). Its keys are expanded; it reads seeds too. */
const nobleKem: MlKem = {
  async mlKemKeyPair(seed) {
    return ml_kem1024.keygen(seed);
  },
  async mlKemEncapsulate(publicKey, randomness) {
    try {
      const { cipherText, sharedSecret } = ml_kem1024.encapsulate(publicKey, randomness);
      return { ciphertext: cipherText, sharedSecret };
    } catch (cause) {
      throw new ProtocolError('INVALID_KEY', 'ML-KEM public key rejected', { cause });
    }
  },
  async mlKemDecapsulate(secretKey, ciphertext) {
    // A seed-form key (written where OpenSSL made it) is expanded first: a key derivation more.
    const expanded = secretKey.length === MLKEM_KEYGEN_SEED_LENGTH ? ml_kem1024.keygen(secretKey).secretKey : secretKey;
    try {
      return ml_kem1024.decapsulate(ciphertext, expanded);
    } catch (cause) {
      throw new ProtocolError('INVALID_KEY', 'ML-KEM secret key rejected', { cause });
    } finally {
      if (expanded !== secretKey) expanded.fill(0);
    }
  },
};

/** The three ML-KEM methods of a provider, checked: noble's, or `native` ones. */
export function mlKemMethods(native: MlKem = nobleKem): MlKem {
  return {
    async mlKemKeyPair(seed) {
      assertBytes('ml-kem seed', seed, MLKEM_KEYGEN_SEED_LENGTH);
      return native.mlKemKeyPair(seed);
    },

    async mlKemEncapsulate(publicKey, randomness) {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== MLKEM_PUBLIC_KEY_LENGTH) {
        throw new ProtocolError('INVALID_KEY', 'expected an ML-KEM-1024 public key of 1568 bytes');
      }
      assertBytes('ml-kem randomness', randomness, MLKEM_ENCAPS_SEED_LENGTH);
      return native.mlKemEncapsulate(publicKey, randomness);
    },

    async mlKemDecapsulate(secretKey, ciphertext) {
      assertBytes('ml-kem secret key', secretKey);
      if (secretKey.length !== MLKEM_SECRET_KEY_LENGTH && secretKey.length !== MLKEM_KEYGEN_SEED_LENGTH) {
        throw new ProtocolError(
          'INVALID_ARGUMENT',
          `expected an ML-KEM-1024 secret key of ${MLKEM_SECRET_KEY_LENGTH} bytes or its ${MLKEM_KEYGEN_SEED_LENGTH}-byte seed`,
        );
      }
      if (!(ciphertext instanceof Uint8Array) || ciphertext.length !== MLKEM_CIPHERTEXT_LENGTH) {
        throw new ProtocolError('MALFORMED_MESSAGE', 'expected an ML-KEM-1024 ciphertext of 1568 bytes');
      }
      return native.mlKemDecapsulate(secretKey, ciphertext);
    },
  };
}

/** noble's ML-KEM with the shared checks (the WebCrypto provider's, and Node 20's). */
export const mlKem: MlKem = mlKemMethods();
