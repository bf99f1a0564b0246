import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { describe, it } from 'node:test';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { isProtocolError } from '../../src/index.ts';
import { createNodeCryptoProvider, createNodeRandom } from '../../src/node.ts';

// Node ≥ 24.7 linked to OpenSSL ≥ 3.5 has ML-KEM; Node 20 (OpenSSL 3.0) does not. `.ci/run` runs
// this file on Node 24 too, with PARLEY_REQUIRE_OPENSSL_MLKEM=1 so that it cannot skip there.
// The runtime is probed here independently of the provider's own probe, which the first test checks.
const runtime = `Node.js ${process.version}, OpenSSL ${process.versions.openssl}`;
const hasKem = (() => {
  if (typeof (nodeCrypto as { encapsulate?: unknown }).encapsulate !== 'function') return false;
  try {
    nodeCrypto.generateKeyPairSync('ml-kem-1024' as 'x25519');
    return true;
  } catch {
    return false;
  }
})();
if (process.env.PARLEY_REQUIRE_OPENSSL_MLKEM === '1' && !hasKem) {
  throw new Error(`PARLEY_REQUIRE_OPENSSL_MLKEM=1 but ${runtime} has no ML-KEM`);
}
const random = createNodeRandom();
const noSkip = hasKem ? false : `${runtime} has no ML-KEM (CI runs this on Node 24)`;

/** Both implementations behind the provider's checks, and a key pair noble made. */
async function bothImplementations() {
  const openssl = createNodeCryptoProvider();
  const noble = createNodeCryptoProvider({ mlKem: 'noble' });
  return { openssl, noble, ...(await noble.mlKemKeyPair(random(64))) };
}

describe('ML-KEM-1024 on OpenSSL', () => {
  it('is what the node provider uses exactly when the runtime has it, and noble when asked to', () => {
    assert.equal(createNodeCryptoProvider().name, hasKem ? 'node+openssl-mlkem' : 'node');
    assert.equal(createNodeCryptoProvider({ mlKem: 'noble' }).name, 'node');
  });

  it('generates from a seed the key noble does, and keeps the seed as the secret key', { skip: noSkip }, async () => {
    const seed = random(64);
    const made = await createNodeCryptoProvider().mlKemKeyPair(seed);
    assert.deepEqual(made.publicKey, ml_kem1024.keygen(seed).publicKey);
    assert.deepEqual(made.secretKey, seed);
    assert.notEqual(made.secretKey, seed, 'a copy, not the caller array');
  });

  it('agrees with noble both ways, including the implicit-rejection key of a tampered ciphertext', {
    skip: noSkip,
  }, async () => {
    const { openssl, noble, publicKey, secretKey } = await bothImplementations();

    const toNoble = await openssl.mlKemEncapsulate(publicKey, random(32));
    assert.deepEqual(ml_kem1024.decapsulate(toNoble.ciphertext, secretKey), toNoble.sharedSecret);
    assert.deepEqual(await noble.mlKemDecapsulate(secretKey, toNoble.ciphertext), toNoble.sharedSecret);

    const toOpenssl = await noble.mlKemEncapsulate(publicKey, random(32));
    assert.deepEqual(await openssl.mlKemDecapsulate(secretKey, toOpenssl.ciphertext), toOpenssl.sharedSecret);

    // FIPS 203 implicit rejection: a tampered ciphertext yields J(z ‖ c), the same on both.
    const tampered = toOpenssl.ciphertext.slice();
    tampered[100] = (tampered[100] as number) ^ 0x10;
    const rejected = await openssl.mlKemDecapsulate(secretKey, tampered);
    assert.notDeepEqual(rejected, toOpenssl.sharedSecret);
    assert.deepEqual(rejected, await noble.mlKemDecapsulate(secretKey, tampered));
  });

  it('refuses a corrupted secret key or a public key out of range with INVALID_KEY, as noble does', {
    skip: noSkip,
  }, async () => {
    const { openssl, noble, publicKey, secretKey } = await bothImplementations();
    const { ciphertext } = await noble.mlKemEncapsulate(publicKey, random(32));
    // dk = dkPKE (1536) ‖ ek (1568) ‖ H(ek) (32) ‖ z (32): a changed H(ek) fails FIPS 203's check.
    const corrupted = secretKey.slice();
    corrupted[1536 + 1568] = (corrupted[1536 + 1568] as number) ^ 1;
    // ek's first coefficient set to 4095 (≥ q = 3329): FIPS 203's modulus check fails.
    const outOfRange = publicKey.slice();
    outOfRange[0] = 0xff;
    outOfRange[1] = (outOfRange[1] as number) | 0x0f;
    for (const p of [openssl, noble]) {
      await assert.rejects(p.mlKemDecapsulate(corrupted, ciphertext), (e: unknown) =>
        isProtocolError(e, 'INVALID_KEY'),
      );
      await assert.rejects(p.mlKemEncapsulate(outOfRange, random(32)), (e: unknown) =>
        isProtocolError(e, 'INVALID_KEY'),
      );
    }
    // The good key still works after the refusals (nothing cached from the failed imports).
    assert.equal((await openssl.mlKemDecapsulate(secretKey, ciphertext)).length, 32);
  });
});
