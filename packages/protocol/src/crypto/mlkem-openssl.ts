/**
 * ML-KEM-1024 from OpenSSL (≥ 3.5), where the runtime offers it (Node.js ≥ 24.7:
 * `crypto.encapsulate`, `crypto.decapsulate`, keys imported from their seed). The node:crypto
 * provider uses these in place of `@noble/post-quantum`'s when present: ~5–11× less CPU per
 * operation (docs/protocol.md §9). Node 20's OpenSSL 3.0 has no ML-KEM; there `openSslMlKem()`
 * is `undefined` and the provider keeps noble's.
 *
 * - Key generation imports the 64-byte seed d ‖ z (FIPS 203 ML-KEM.KeyGen_internal) and returns
 *   that seed as the secret key: OpenSSL keeps a key made from a seed as the seed and does not
 *   hand out the expanded form. KEM prekey records hold either form (docs/protocol.md §8), and
 *   noble expands a seed when one reaches it (a record restored on Node 20, say).
 * - Decapsulation imports a seed, or an expanded key as PKCS#8 (the `expandedKey` choice of the
 *   IETF LAMPS ML-KEM private-key format, which OpenSSL 3.5 reads); OpenSSL runs FIPS 203's
 *   decapsulation-key check on the latter.
 * - Encapsulation draws its 32 random bytes from OpenSSL's own DRBG (the generator
 *   `createNodeRandom` reads too), not from the `randomness` argument, which Node cannot pass on;
 *   nothing in Parley depends on an encapsulation being reproducible.
 */

import type { KeyObject } from 'node:crypto';
import * as nodeCrypto from 'node:crypto';
import { plainBytes } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import type { MlKem } from './mlkem.ts';
import { MLKEM_KEYGEN_SEED_LENGTH } from './provider.ts';

/** What Node ≥ 24.7 adds for ML-KEM; absent from Node 20 and its typings. */
interface KemRuntime {
  encapsulate(key: KeyObject): { sharedKey: Buffer; ciphertext: Buffer };
  decapsulate(key: KeyObject, ciphertext: Uint8Array): Buffer;
  createPublicKey(o: { key: Uint8Array; format: 'raw-public'; asymmetricKeyType: 'ml-kem-1024' }): KeyObject;
  createPublicKey(key: KeyObject): { export(o: { format: 'raw-public' }): Buffer };
  createPrivateKey(o: { key: Uint8Array; format: 'raw-seed'; asymmetricKeyType: 'ml-kem-1024' }): KeyObject;
}

/**
 * PKCS#8 header for an ML-KEM-1024 private key in its `expandedKey` form: SEQUENCE (3192 bytes)
 * { INTEGER 0, AlgorithmIdentifier { id-alg-ml-kem-1024 (2.16.840.1.101.3.4.4.3) },
 * OCTET STRING (3172) { OCTET STRING (3168) { the FIPS 203 decapsulation key } } }.
 */
const EXPANDED_PKCS8 = Uint8Array.from(Buffer.from('30820c78020100300b060960864801650304040304820c6404820c60', 'hex'));

/** The runtime's ML-KEM calls, if this Node.js and its OpenSSL have them (probed once). */
let probed: { runtime: KemRuntime | undefined } | undefined;
function kemRuntime(): KemRuntime | undefined {
  probed ??= { runtime: probe() };
  return probed.runtime;
}

function probe(): KemRuntime | undefined {
  const candidate = nodeCrypto as unknown as Partial<KemRuntime>;
  if (typeof candidate.encapsulate !== 'function' || typeof candidate.decapsulate !== 'function') return undefined;
  try {
    nodeCrypto.generateKeyPairSync('ml-kem-1024' as 'x25519');
    return candidate as KemRuntime;
  } catch {
    return undefined; // a Node.js with the calls, linked to an OpenSSL without ML-KEM
  }
}

/**
 * ML-KEM on OpenSSL, or `undefined` when the runtime lacks it.
 * `cache` memoises key imports by source array as the provider does for its other keys.
 * Argument checks (lengths, typed errors) are the caller's, shared with the noble path.
 */
export function openSslMlKem(
  cache: (load: (raw: Uint8Array) => KeyObject) => (raw: Uint8Array) => KeyObject,
): MlKem | undefined {
  const kem = kemRuntime();
  if (kem === undefined) return undefined;
  const publicKeyObject = cache((raw) =>
    kem.createPublicKey({ key: raw, format: 'raw-public', asymmetricKeyType: 'ml-kem-1024' }),
  );
  const fromSeed = (seed: Uint8Array) =>
    kem.createPrivateKey({ key: seed, format: 'raw-seed', asymmetricKeyType: 'ml-kem-1024' });
  const secretKeyObject = cache((raw) => {
    if (raw.length === MLKEM_KEYGEN_SEED_LENGTH) return fromSeed(raw);
    const der = new Uint8Array(EXPANDED_PKCS8.length + raw.length);
    der.set(EXPANDED_PKCS8, 0);
    der.set(raw, EXPANDED_PKCS8.length);
    try {
      return nodeCrypto.createPrivateKey({ key: Buffer.from(der.buffer), format: 'der', type: 'pkcs8' });
    } finally {
      der.fill(0);
    }
  });
  return {
    async mlKemKeyPair(seed) {
      const publicKey = kem.createPublicKey(fromSeed(seed)).export({ format: 'raw-public' });
      return { publicKey: plainBytes(publicKey), secretKey: seed.slice() };
    },
    async mlKemEncapsulate(publicKey) {
      let key: KeyObject;
      try {
        key = publicKeyObject(publicKey);
      } catch (cause) {
        throw new ProtocolError('INVALID_KEY', 'ML-KEM public key rejected', { cause });
      }
      const { sharedKey, ciphertext } = kem.encapsulate(key);
      return { ciphertext: plainBytes(ciphertext), sharedSecret: plainBytes(sharedKey) };
    },
    async mlKemDecapsulate(secretKey, ciphertext) {
      let key: KeyObject;
      try {
        key = secretKeyObject(secretKey);
      } catch (cause) {
        throw new ProtocolError('INVALID_KEY', 'ML-KEM secret key rejected', { cause });
      }
      return plainBytes(kem.decapsulate(key, ciphertext));
    },
  };
}
