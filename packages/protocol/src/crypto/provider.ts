/**
 * The crypto provider: the only way the protocol reaches cryptographic primitives.
 *
 * Hosts inject one: `createNodeCryptoProvider()` on node:crypto (OpenSSL, fast) or
 * `createWebCryptoProvider()` on WebCrypto (browsers). ML-KEM comes from the audited
 * `@noble/post-quantum` in both. Nothing here is home-made: each method maps to one platform
 * call. Every method is async so one interface fits both platforms.
 *
 * Key formats are raw bytes: X25519 private/public keys are 32 bytes (RFC 7748), Ed25519
 * private keys are the 32-byte seed and public keys 32 bytes (RFC 8032).
 */

/** Sizes of the primitives' inputs and outputs, checked at every edge. */
export const X25519_KEY_LENGTH = 32;
export const ED25519_SEED_LENGTH = 32;
export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;
export const AES_256_KEY_LENGTH = 32;
export const AES_GCM_NONCE_LENGTH = 12;
export const AES_GCM_TAG_LENGTH = 16;
/** ML-KEM-1024 (FIPS 203) sizes, the parameter set PQXDH instantiates (Kyber-1024). */
export const MLKEM_PUBLIC_KEY_LENGTH = 1568;
export const MLKEM_SECRET_KEY_LENGTH = 3168;
export const MLKEM_CIPHERTEXT_LENGTH = 1568;
export const MLKEM_SHARED_SECRET_LENGTH = 32;
export const MLKEM_KEYGEN_SEED_LENGTH = 64;
export const MLKEM_ENCAPS_SEED_LENGTH = 32;

/**
 * An ML-KEM key pair: the FIPS 203 encapsulation key, and the decapsulation key either expanded
 * (`MLKEM_SECRET_KEY_LENGTH` bytes, noble's) or as the 64-byte seed d ‖ z it derives from
 * (`MLKEM_KEYGEN_SEED_LENGTH`, OpenSSL's; FIPS 203 §7.1 allows storing the seed). Every
 * provider's `mlKemDecapsulate` takes both.
 */
export interface KemKeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * An incremental SHA-256 (the digest of a whole attachment blob is computed while it streams).
 * `digest()` ends it; `update` after that is a bug.
 */
export interface Sha256Hasher {
  update(data: Uint8Array): void;
  digest(): Uint8Array;
}

/** The primitives the protocol needs. Implementations must not retain or log inputs. */
export interface CryptoProvider {
  /** Short name for diagnostics and benchmarks, e.g. `'node'` or `'webcrypto'`. */
  readonly name: string;

  /** X25519 public key of a 32-byte private key (RFC 7748 §5; clamping is the primitive's). */
  x25519PublicKey(privateKey: Uint8Array): Promise<Uint8Array>;
  /**
   * X25519 shared secret. Rejects with `INVALID_KEY` when the public key has the wrong length
   * or the result is all zero (a low-order point, RFC 7748 §6.1).
   */
  x25519(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;

  /** Ed25519 public key of a 32-byte seed. */
  ed25519PublicKey(seed: Uint8Array): Promise<Uint8Array>;
  /** Deterministic Ed25519 signature (RFC 8032 §5.1.6). */
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /**
   * Strict Ed25519 verification: false for a wrong-length key or signature, a non-canonical
   * S (S >= L, the malleability fix of RFC 8032 §5.1.7), a non-canonical or small-order public
   * key or R, or a signature that does not verify. Never throws on hostile input.
   */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;

  /** HMAC-SHA-256 (RFC 2104). */
  hmacSha256(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  /** HKDF-SHA-256 (RFC 5869) producing `length` bytes. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /** SHA-256 digest. */
  sha256(data: Uint8Array): Promise<Uint8Array>;
  /**
   * An incremental SHA-256, where the platform has one (node:crypto's `createHash`). WebCrypto
   * has none, so it is optional: `createSha256Hasher` falls back to `@noble/hashes`.
   */
  sha256Hasher?(): Sha256Hasher;
  /** SHA-512 digest. */
  sha512(data: Uint8Array): Promise<Uint8Array>;

  /** AES-256-GCM encryption; returns ciphertext with the 16-byte tag appended. */
  aesGcmEncrypt(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** AES-256-GCM decryption; resolves to `null` when authentication fails (never throws for that). */
  aesGcmDecrypt(
    key: Uint8Array,
    nonce: Uint8Array,
    ciphertext: Uint8Array,
    aad: Uint8Array,
  ): Promise<Uint8Array | null>;

  /** ML-KEM-1024 key generation from a 64-byte seed (FIPS 203 ML-KEM.KeyGen_internal(d, z)). */
  mlKemKeyPair(seed: Uint8Array): Promise<KemKeyPair>;
  /**
   * ML-KEM-1024 encapsulation with 32 bytes of injected randomness (checked, but not used where
   * OpenSSL draws its own: the protocol never needs an encapsulation to be reproducible).
   */
  mlKemEncapsulate(
    publicKey: Uint8Array,
    randomness: Uint8Array,
  ): Promise<{ ciphertext: Uint8Array; sharedSecret: Uint8Array }>;
  /**
   * ML-KEM-1024 decapsulation (implicit rejection: a tampered ciphertext yields a different
   * secret), from an expanded or a seed-form decapsulation key (`KemKeyPair`).
   */
  mlKemDecapsulate(secretKey: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}
