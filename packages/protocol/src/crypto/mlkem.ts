/**
 * ML-KEM-1024 (FIPS 203) from the audited `@noble/post-quantum`, shared by both providers since
 * neither OpenSSL 3.0 nor WebCrypto offers it. Inputs are length-checked with typed errors.
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

/** The three ML-KEM methods of a `CryptoProvider`. */
export const mlKem: Pick<CryptoProvider, 'mlKemKeyPair' | 'mlKemEncapsulate' | 'mlKemDecapsulate'> = {
  async mlKemKeyPair(seed) {
    assertBytes('ml-kem seed', seed, MLKEM_KEYGEN_SEED_LENGTH);
    return ml_kem1024.keygen(seed);
  },

  async mlKemEncapsulate(publicKey, randomness) {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== MLKEM_PUBLIC_KEY_LENGTH) {
      throw new ProtocolError('INVALID_KEY', 'expected an ML-KEM-1024 public key of 1568 bytes');
    }
    assertBytes('ml-kem randomness', randomness, MLKEM_ENCAPS_SEED_LENGTH);
    try {
      const { cipherText, sharedSecret } = ml_kem1024.encapsulate(publicKey, randomness);
      return { ciphertext: cipherText, sharedSecret };
    } catch (cause) {
      throw new ProtocolError('INVALID_KEY', 'ML-KEM public key rejected', { cause });
    }
  },

  async mlKemDecapsulate(secretKey, ciphertext) {
    assertBytes('ml-kem secret key', secretKey, MLKEM_SECRET_KEY_LENGTH);
    if (!(ciphertext instanceof Uint8Array) || ciphertext.length !== MLKEM_CIPHERTEXT_LENGTH) {
      throw new ProtocolError('MALFORMED_MESSAGE', 'expected an ML-KEM-1024 ciphertext of 1568 bytes');
    }
    return ml_kem1024.decapsulate(ciphertext, secretKey);
  },
};
