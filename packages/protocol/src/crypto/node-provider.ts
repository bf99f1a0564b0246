/**
 * `CryptoProvider` on node:crypto (OpenSSL): synchronous, fast calls wrapped in the async
 * interface. ML-KEM-1024 from `@noble/post-quantum`, which OpenSSL 3.0 lacks, or from OpenSSL
 * where the runtime has it (Node.js ≥ 24.7, `mlkem-openssl.ts`).
 *
 * Importing a raw X25519 or Ed25519 private key costs OpenSSL a scalar multiplication (it derives
 * the public half), as much as the DH itself; yet the protocol often uses one key several times
 * in a row (an ephemeral key in three PQXDH DHs, a fresh ratchet key for its public half and then
 * its DH, the signed prekey in two DHs and the first ratchet step). So imported keys are kept in
 * a `WeakMap` keyed by the very `Uint8Array` they came from: an entry lives no longer than the
 * caller's array (no key outlives the state that holds it), a different array is a miss, and a
 * hit is used only if the array still holds the bytes it was imported from.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { assertBytes, constantTimeEqual, plainBytes } from '../bytes.ts';
import { isStrictEd25519Input } from './ed25519-strict.ts';
import { mlKemMethods } from './mlkem.ts';
import { openSslMlKem } from './mlkem-openssl.ts';
import {
  AES_256_KEY_LENGTH,
  AES_GCM_NONCE_LENGTH,
  AES_GCM_TAG_LENGTH,
  type CryptoProvider,
  ED25519_SEED_LENGTH,
  X25519_KEY_LENGTH,
} from './provider.ts';
import { checkedX25519 } from './x25519-checks.ts';

const X25519_PKCS8 = Uint8Array.from(Buffer.from('302e020100300506032b656e04220420', 'hex'));
const ED25519_PKCS8 = Uint8Array.from(Buffer.from('302e020100300506032b657004220420', 'hex'));

function der(prefix: Uint8Array, raw: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + raw.length);
  out.set(prefix, 0);
  out.set(raw, prefix.length);
  return out;
}

const b64url = (raw: Uint8Array) => Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64url');
const PLACEHOLDER_X = b64url(new Uint8Array(32));

/**
 * Imports a raw private key. JWK import is ~10x faster than PKCS#8 DER through OpenSSL 3's
 * decoders (50 µs vs 490 µs here). OpenSSL derives the public half from `d`, so `x` is a
 * placeholder; should a Node release ever validate `x`, we fall back to DER. The RFC 8032 and
 * RFC 7748 vector tests would catch a platform that used the placeholder.
 */
function privateKeyObject(curve: 'X25519' | 'Ed25519', raw: Uint8Array): KeyObject {
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: curve, d: b64url(raw), x: PLACEHOLDER_X }, format: 'jwk' });
  } catch {
    return createPrivateKey({
      key: der(curve === 'X25519' ? X25519_PKCS8 : ED25519_PKCS8, raw),
      format: 'der',
      type: 'pkcs8',
    });
  }
}

function publicKeyObject(curve: 'X25519' | 'Ed25519', raw: Uint8Array): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: curve, x: b64url(raw) }, format: 'jwk' });
}

/** An imported key and a copy of the bytes it was imported from. */
interface Imported {
  readonly raw: Uint8Array;
  readonly key: KeyObject;
}

/** Imported KeyObjects by source array (see the module comment). */
function keyCache(load: (raw: Uint8Array) => KeyObject): (raw: Uint8Array) => KeyObject {
  const cache = new WeakMap<Uint8Array, Imported>();
  return (raw) => {
    const hit = cache.get(raw);
    if (hit !== undefined && constantTimeEqual(hit.raw, raw)) return hit.key;
    const key = load(raw);
    cache.set(raw, { raw: raw.slice(), key });
    return key;
  };
}

/** The raw public half of an imported OKP key, private or public. */
function rawPublic(key: KeyObject): Uint8Array {
  const x = key.export({ format: 'jwk' }).x;
  return new Uint8Array(Buffer.from(x as string, 'base64url'));
}

/** Options of `createNodeCryptoProvider`. */
export interface NodeCryptoProviderOptions {
  /**
   * Where ML-KEM runs (key generation, encapsulation, decapsulation): `'auto'` (default) on
   * OpenSSL when the runtime has it and noble's otherwise; `'noble'` always noble's (tests
   * compare the two).
   */
  readonly mlKem?: 'auto' | 'noble';
}

/**
 * Creates the node:crypto provider. Its only state is the imported-key caches. Its `name` is
 * `'node'`, or `'node+openssl-mlkem'` when ML-KEM runs on OpenSSL.
 */
export function createNodeCryptoProvider(options: NodeCryptoProviderOptions = {}): CryptoProvider {
  const native = options.mlKem === 'noble' ? undefined : openSslMlKem(keyCache);
  const x25519Private = keyCache((raw) => privateKeyObject('X25519', raw));
  const x25519Public = keyCache((raw) => publicKeyObject('X25519', raw));
  const ed25519Private = keyCache((raw) => privateKeyObject('Ed25519', raw));
  const ed25519Public = keyCache((raw) => publicKeyObject('Ed25519', raw));
  return {
    name: native === undefined ? 'node' : 'node+openssl-mlkem',

    async x25519PublicKey(privateKey) {
      assertBytes('x25519 private key', privateKey, X25519_KEY_LENGTH);
      return rawPublic(x25519Private(privateKey));
    },

    async x25519(privateKey, publicKey) {
      return checkedX25519(privateKey, publicKey, () =>
        plainBytes(
          diffieHellman({
            privateKey: x25519Private(privateKey),
            publicKey: x25519Public(publicKey),
          }),
        ),
      );
    },

    async ed25519PublicKey(seed) {
      assertBytes('ed25519 seed', seed, ED25519_SEED_LENGTH);
      return rawPublic(ed25519Private(seed));
    },

    async ed25519Sign(seed, message) {
      assertBytes('ed25519 seed', seed, ED25519_SEED_LENGTH);
      assertBytes('message', message);
      return plainBytes(sign(null, message, ed25519Private(seed)));
    },

    async ed25519Verify(publicKey, message, signature) {
      if (!(message instanceof Uint8Array) || !isStrictEd25519Input(publicKey, signature)) return false;
      try {
        return verify(null, message, ed25519Public(publicKey as Uint8Array), signature as Uint8Array);
      } catch {
        return false;
      }
    },

    async hmacSha256(key, data) {
      return plainBytes(createHmac('sha256', key).update(data).digest());
    },

    async hkdfSha256(ikm, salt, info, length) {
      return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
    },

    sha256Hasher() {
      const hash = createHash('sha256');
      return {
        update(data: Uint8Array) {
          hash.update(data);
        },
        digest: () => plainBytes(hash.digest()),
      };
    },
    async sha256(data) {
      return plainBytes(createHash('sha256').update(data).digest());
    },

    async sha512(data) {
      return plainBytes(createHash('sha512').update(data).digest());
    },

    async aesGcmEncrypt(key, nonce, plaintext, aad) {
      assertBytes('aes key', key, AES_256_KEY_LENGTH);
      assertBytes('aes-gcm nonce', nonce, AES_GCM_NONCE_LENGTH);
      const cipher = createCipheriv('aes-256-gcm', key, nonce);
      cipher.setAAD(aad);
      const body = cipher.update(plaintext);
      cipher.final();
      const tag = cipher.getAuthTag();
      const out = new Uint8Array(body.length + tag.length);
      out.set(body, 0);
      out.set(tag, body.length);
      return out;
    },

    async aesGcmDecrypt(key, nonce, ciphertext, aad) {
      assertBytes('aes key', key, AES_256_KEY_LENGTH);
      assertBytes('aes-gcm nonce', nonce, AES_GCM_NONCE_LENGTH);
      if (ciphertext.length < AES_GCM_TAG_LENGTH) return null;
      const split = ciphertext.length - AES_GCM_TAG_LENGTH;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce);
        decipher.setAAD(aad);
        decipher.setAuthTag(ciphertext.subarray(split));
        const body = decipher.update(ciphertext.subarray(0, split));
        decipher.final();
        return plainBytes(body);
      } catch {
        return null;
      }
    },

    ...mlKemMethods(native),
  };
}
