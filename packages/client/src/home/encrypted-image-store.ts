/**
 * Passphrase protection of a saved home (browsers): the database image is stored encrypted
 * with AES-256-GCM under a key derived from the passphrase with Argon2id (RFC 9106), so a copy
 * of the browser profile reveals nothing without the passphrase. The key lives only in this
 * page's memory, as a non-extractable WebCrypto key.
 *
 * Stored form: `PRLYENC1` ‖ m (u32, KiB) ‖ t (u32) ‖ p (u32) ‖ salt (16) ‖ nonce (12) ‖
 * ciphertext+tag; the 48-byte header up to the nonce is the GCM associated data, so the
 * parameters cannot be swapped. A fresh nonce is drawn for every save.
 */
import { argon2idAsync } from '@noble/hashes/argon2.js';
import type { RandomSource } from '@parley/protocol';
import { ClientError } from '../errors.ts';
import type { ImageStore } from './wasm-home-database.ts';

const MAGIC = new TextEncoder().encode('PRLYENC1');
const SALT = 16;
const NONCE = 12;
const HEADER = MAGIC.length + 12 + SALT;

/** Argon2id cost: memory in KiB, iterations, lanes. */
export interface KdfParams {
  readonly m: number;
  readonly t: number;
  readonly p: number;
}

/** RFC 9106 §4's second recommended option, with one lane (browsers run it on one thread). */
export const DEFAULT_KDF: KdfParams = { m: 64 * 1024, t: 3, p: 1 };

/** True when `image` is a passphrase-protected image. */
export function isEncryptedImage(image: Uint8Array | undefined): boolean {
  return image !== undefined && image.length > HEADER && MAGIC.every((b, i) => image[i] === b);
}

const buf = (b: Uint8Array): ArrayBuffer => b.slice().buffer as ArrayBuffer;

async function deriveKey(passphrase: string, salt: Uint8Array, kdf: KdfParams): Promise<CryptoKey> {
  const raw = await argon2idAsync(new TextEncoder().encode(passphrase.normalize('NFC')), salt, {
    ...kdf,
    dkLen: 32,
    maxmem: 2 ** 31,
  });
  try {
    return await crypto.subtle.importKey('raw', buf(raw), 'AES-GCM', false, ['encrypt', 'decrypt']);
  } finally {
    raw.fill(0);
  }
}

function header(kdf: KdfParams, salt: Uint8Array): Uint8Array {
  const h = new Uint8Array(HEADER);
  h.set(MAGIC);
  const v = new DataView(h.buffer);
  v.setUint32(MAGIC.length, kdf.m);
  v.setUint32(MAGIC.length + 4, kdf.t);
  v.setUint32(MAGIC.length + 8, kdf.p);
  h.set(salt, MAGIC.length + 12);
  return h;
}

/**
 * Wraps `inner` so that images are stored encrypted under `passphrase`. An existing protected
 * image must open with it (else `WRONG_PASSPHRASE`); an existing unprotected one is encrypted
 * on the next save (turning protection on); a new home is encrypted from its first save.
 */
export async function openEncryptedImageStore(
  inner: ImageStore,
  passphrase: string,
  random: RandomSource,
  kdf: KdfParams = DEFAULT_KDF,
): Promise<ImageStore> {
  if (passphrase === '') throw new ClientError('INVALID_ARGUMENT', 'the passphrase is empty');
  const stored = await inner.load();
  let first: Uint8Array | undefined;
  let head: Uint8Array;
  let key: CryptoKey;
  if (isEncryptedImage(stored)) {
    const s = stored as Uint8Array;
    const v = new DataView(s.buffer, s.byteOffset, s.byteLength);
    const params = { m: v.getUint32(MAGIC.length), t: v.getUint32(MAGIC.length + 4), p: v.getUint32(MAGIC.length + 8) };
    if (params.m > 1024 * 1024 || params.t > 100 || params.p > 16 || params.m < 8 * params.p) {
      throw new ClientError('INVALID_ARGUMENT', 'the saved home has unusable key-derivation parameters');
    }
    head = s.slice(0, HEADER);
    key = await deriveKey(passphrase, head.slice(MAGIC.length + 12), params);
    try {
      const nonce = s.subarray(HEADER, HEADER + NONCE);
      first = new Uint8Array(
        await crypto.subtle.decrypt(
          { name: 'AES-GCM', iv: buf(nonce), additionalData: buf(head) },
          key,
          buf(s.subarray(HEADER + NONCE)),
        ),
      );
    } catch {
      throw new ClientError('WRONG_PASSPHRASE', 'wrong passphrase (or the saved home was altered)');
    }
  } else {
    first = stored;
    head = header(kdf, random(SALT));
    key = await deriveKey(passphrase, head.slice(MAGIC.length + 12), kdf);
  }
  return {
    async load() {
      const image = first;
      first = undefined;
      return image;
    },
    async save(image) {
      const nonce = random(NONCE);
      const sealed = new Uint8Array(
        await crypto.subtle.encrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(head) }, key, buf(image)),
      );
      const out = new Uint8Array(HEADER + NONCE + sealed.length);
      out.set(head);
      out.set(nonce, HEADER);
      out.set(sealed, HEADER + NONCE);
      await inner.save(out);
    },
  };
}
