/**
 * `CryptoProvider` on WebCrypto (browsers, and Node's `globalThis.crypto` for tests), with
 * ML-KEM-1024 from `@noble/post-quantum`. Raw keys are imported as PKCS#8/SPKI per call.
 */
import { assertBytes, concatBytes } from '../bytes.ts';
import { isStrictEd25519Input } from './ed25519-strict.ts';
import { mlKem } from './mlkem.ts';
import {
  AES_256_KEY_LENGTH,
  AES_GCM_NONCE_LENGTH,
  type CryptoProvider,
  ED25519_SEED_LENGTH,
  X25519_KEY_LENGTH,
} from './provider.ts';
import { checkedX25519 } from './x25519-checks.ts';

const hex = (s: string) => new Uint8Array(s.match(/../g)!.map((h) => Number.parseInt(h, 16)));
const X25519_PKCS8 = hex('302e020100300506032b656e04220420');
const ED25519_PKCS8 = hex('302e020100300506032b657004220420');

type Subtle = SubtleCrypto;

/** TypeScript's DOM types want ArrayBuffer-backed views; ours always are. */
const bs = (b: Uint8Array): BufferSource => b as unknown as BufferSource;

function b64urlToBytes(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

/** Creates the WebCrypto provider over `subtle` (default: `globalThis.crypto.subtle`). */
export function createWebCryptoProvider(subtle: Subtle = globalThis.crypto.subtle): CryptoProvider {
  const importPrivate = (alg: 'X25519' | 'Ed25519', raw: Uint8Array, usages: KeyUsage[]) =>
    subtle.importKey(
      'pkcs8',
      bs(concatBytes(alg === 'X25519' ? X25519_PKCS8 : ED25519_PKCS8, raw)),
      { name: alg },
      true,
      usages,
    );
  const publicOf = async (alg: 'X25519' | 'Ed25519', raw: Uint8Array, usages: KeyUsage[]) => {
    const jwk = await subtle.exportKey('jwk', await importPrivate(alg, raw, usages));
    return b64urlToBytes(jwk.x as string);
  };
  const hmacKey = (key: Uint8Array) =>
    subtle.importKey('raw', bs(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);

  return {
    name: 'webcrypto',

    async x25519PublicKey(privateKey) {
      assertBytes('x25519 private key', privateKey, X25519_KEY_LENGTH);
      return publicOf('X25519', privateKey, ['deriveBits']);
    },

    async x25519(privateKey, publicKey) {
      return checkedX25519(privateKey, publicKey, async () => {
        const priv = await importPrivate('X25519', privateKey, ['deriveBits']);
        const pub = await subtle.importKey('raw', bs(publicKey), { name: 'X25519' }, true, []);
        return new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pub }, priv, 256));
      });
    },

    async ed25519PublicKey(seed) {
      assertBytes('ed25519 seed', seed, ED25519_SEED_LENGTH);
      return publicOf('Ed25519', seed, ['sign']);
    },

    async ed25519Sign(seed, message) {
      assertBytes('ed25519 seed', seed, ED25519_SEED_LENGTH);
      const key = await importPrivate('Ed25519', seed, ['sign']);
      return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, key, bs(message)));
    },

    async ed25519Verify(publicKey, message, signature) {
      if (!(message instanceof Uint8Array) || !isStrictEd25519Input(publicKey, signature)) return false;
      try {
        const key = await subtle.importKey('raw', bs(publicKey), { name: 'Ed25519' }, true, ['verify']);
        return await subtle.verify({ name: 'Ed25519' }, key, bs(signature as Uint8Array), bs(message));
      } catch {
        return false;
      }
    },

    async hmacSha256(key, data) {
      return new Uint8Array(await subtle.sign('HMAC', await hmacKey(key), bs(data)));
    },

    async hkdfSha256(ikm, salt, info, length) {
      const key = await subtle.importKey('raw', bs(ikm), 'HKDF', false, ['deriveBits']);
      return new Uint8Array(
        await subtle.deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: bs(salt), info: bs(info) }, key, length * 8),
      );
    },

    async sha256(data) {
      return new Uint8Array(await subtle.digest('SHA-256', bs(data)));
    },

    async sha512(data) {
      return new Uint8Array(await subtle.digest('SHA-512', bs(data)));
    },

    async aesGcmEncrypt(key, nonce, plaintext, aad) {
      assertBytes('aes key', key, AES_256_KEY_LENGTH);
      assertBytes('aes-gcm nonce', nonce, AES_GCM_NONCE_LENGTH);
      const k = await subtle.importKey('raw', bs(key), 'AES-GCM', false, ['encrypt']);
      return new Uint8Array(
        await subtle.encrypt({ name: 'AES-GCM', iv: bs(nonce), additionalData: bs(aad) }, k, bs(plaintext)),
      );
    },

    async aesGcmDecrypt(key, nonce, ciphertext, aad) {
      assertBytes('aes key', key, AES_256_KEY_LENGTH);
      assertBytes('aes-gcm nonce', nonce, AES_GCM_NONCE_LENGTH);
      try {
        const k = await subtle.importKey('raw', bs(key), 'AES-GCM', false, ['decrypt']);
        return new Uint8Array(
          await subtle.decrypt({ name: 'AES-GCM', iv: bs(nonce), additionalData: bs(aad) }, k, bs(ciphertext)),
        );
      } catch {
        return null;
      }
    },

    ...mlKem,
  };
}
