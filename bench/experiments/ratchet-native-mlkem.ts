/**
 * Experiment, not a product path: the ratchet benchmark with ML-KEM-1024 done by OpenSSL instead
 * of `@noble/post-quantum`, to show what session setup would cost on a runtime that has it
 * (Node.js ≥ 24.7 with OpenSSL ≥ 3.5: `crypto.encapsulate`, `crypto.decapsulate`, keys imported
 * from their 64-byte FIPS 203 seed). Parley runs on Node.js 20 here, where OpenSSL 3.0 has no
 * ML-KEM, so the product keeps noble's; bench/RESULTS.md ("ratchet — 2026-11-29, what ML-KEM
 * costs") records both.
 *
 *   /path/to/node24 --import tsx bench/experiments/ratchet-native-mlkem.ts [SECONDS]
 *
 * Shortcuts an implementation in the provider could not take: the secret key travels as its
 * seed in the first 64 bytes of the 3,168-byte field the key records have (a real change would
 * store the seed, which FIPS 203 §7.1 allows, and version the record), and encapsulation draws
 * OpenSSL's own randomness instead of the injected `randomness` (so this provider is not
 * deterministic, which the protocol's test vectors need).
 */
import * as nodeCrypto from 'node:crypto';
import { type CryptoProvider, createNodeCryptoProvider, MLKEM_SECRET_KEY_LENGTH } from '@parley/protocol';
import { parleyParties } from '../parley-party.ts';
import { runRatchet } from '../ratchet.ts';

/** The Node ≥ 24.7 calls this experiment needs, absent from Node 20's typings. */
interface NativeKem {
  createPrivateKey(o: { key: Uint8Array; format: 'raw-seed'; asymmetricKeyType: 'ml-kem-1024' }): nodeCrypto.KeyObject;
  createPublicKey(o: { key: Uint8Array; format: 'raw-public'; asymmetricKeyType: 'ml-kem-1024' }): nodeCrypto.KeyObject;
  encapsulate(key: nodeCrypto.KeyObject): { sharedKey: Buffer; ciphertext: Buffer };
  decapsulate(key: nodeCrypto.KeyObject, ciphertext: Uint8Array): Buffer;
}

const native = nodeCrypto as unknown as NativeKem;
if (typeof native.encapsulate !== 'function') {
  process.stderr.write(
    `this runtime (Node.js ${process.version}, OpenSSL ${process.versions.openssl}) has no ML-KEM\n`,
  );
  process.exit(2);
}

const seedKey = (secretKey: Uint8Array) =>
  native.createPrivateKey({ key: secretKey.subarray(0, 64), format: 'raw-seed', asymmetricKeyType: 'ml-kem-1024' });

const provider: CryptoProvider = {
  ...createNodeCryptoProvider(),
  async mlKemKeyPair(seed) {
    const publicKey = nodeCrypto.createPublicKey(seedKey(seed)) as unknown as {
      export(o: { format: 'raw-public' }): Buffer;
    };
    const secretKey = new Uint8Array(MLKEM_SECRET_KEY_LENGTH);
    secretKey.set(seed);
    return { publicKey: new Uint8Array(publicKey.export({ format: 'raw-public' })), secretKey };
  },
  async mlKemEncapsulate(publicKey) {
    const key = native.createPublicKey({ key: publicKey, format: 'raw-public', asymmetricKeyType: 'ml-kem-1024' });
    const { sharedKey, ciphertext } = native.encapsulate(key);
    return { ciphertext: new Uint8Array(ciphertext), sharedSecret: new Uint8Array(sharedKey) };
  },
  async mlKemDecapsulate(secretKey, ciphertext) {
    return new Uint8Array(native.decapsulate(seedKey(secretKey), ciphertext));
  },
};

process.stderr.write(`Node.js ${process.version}, OpenSSL ${process.versions.openssl}: ML-KEM-1024 from OpenSSL\n`);
await runRatchet({ seconds: Number(process.argv[2] ?? 3) }, parleyParties(provider));
