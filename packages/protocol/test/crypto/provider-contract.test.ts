import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import { type CryptoProvider, createWebCryptoProvider, isProtocolError, utf8 } from '../../src/index.ts';
import { createNodeCryptoProvider, createNodeRandom } from '../../src/node.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const random = createNodeRandom();
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function addLToS(sig: Uint8Array): Uint8Array {
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i] as number);
  s += L;
  const out = sig.slice();
  for (let i = 32; i < 64; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

const providers: CryptoProvider[] = [createNodeCryptoProvider(), createWebCryptoProvider()];

for (const p of providers) {
  describe(`crypto provider: ${p.name}`, () => {
    it('computes the RFC 7748 §6.1 X25519 vector', async () => {
      const a = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
      const bPub = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
      assert.equal(
        toHex(await p.x25519PublicKey(a)),
        '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
      );
      assert.equal(toHex(await p.x25519(a, bPub)), '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
    });

    it('rejects low-order and wrong-length X25519 public keys', async () => {
      const priv = random(32);
      const lowOrder = [
        '0000000000000000000000000000000000000000000000000000000000000000',
        '0100000000000000000000000000000000000000000000000000000000000000',
        'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
        'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      ];
      for (const k of lowOrder) {
        await assert.rejects(p.x25519(priv, hex(k)), (e: unknown) => isProtocolError(e, 'INVALID_KEY'), k);
      }
      await assert.rejects(p.x25519(priv, new Uint8Array(31)), (e: unknown) => isProtocolError(e, 'INVALID_KEY'));
    });

    it('signs and verifies the RFC 8032 test 1 vector', async () => {
      const seed = hex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
      const pub = await p.ed25519PublicKey(seed);
      assert.equal(toHex(pub), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
      const sig = await p.ed25519Sign(seed, new Uint8Array(0));
      assert.equal(
        toHex(sig),
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      );
      assert.equal(await p.ed25519Verify(pub, new Uint8Array(0), sig), true);
      assert.equal(await p.ed25519Verify(pub, new Uint8Array([1]), sig), false);
    });

    it('verifies strictly: malleated S, small-order keys and bad lengths are refused', async () => {
      const seed = random(32);
      const pub = await p.ed25519PublicKey(seed);
      const msg = utf8('strict');
      const sig = await p.ed25519Sign(seed, msg);
      assert.equal(await p.ed25519Verify(pub, msg, addLToS(sig)), false, 'S + L');
      // Identity point as key and R with S = 0 satisfies the verification equation for any message.
      const identity = hex('0100000000000000000000000000000000000000000000000000000000000000');
      const trivial = new Uint8Array(64);
      trivial.set(identity, 0);
      assert.equal(await p.ed25519Verify(identity, msg, trivial), false, 'small-order key');
      assert.equal(await p.ed25519Verify(pub.subarray(1), msg, sig), false);
      assert.equal(await p.ed25519Verify(pub, msg, sig.subarray(1)), false);
      // A non-canonical encoding of y (y >= p) as R.
      const nonCanonical = sig.slice();
      nonCanonical.set(hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'), 0);
      assert.equal(await p.ed25519Verify(pub, msg, nonCanonical), false);
    });

    it('matches the RFC 4231, RFC 5869 and FIPS 180 vectors', async () => {
      assert.equal(
        toHex(await p.hmacSha256(new Uint8Array(20).fill(0x0b), utf8('Hi There'))),
        'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
      );
      assert.equal(
        toHex(
          await p.hkdfSha256(
            new Uint8Array(22).fill(0x0b),
            hex('000102030405060708090a0b0c'),
            hex('f0f1f2f3f4f5f6f7f8f9'),
            42,
          ),
        ),
        '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
      );
      assert.equal(
        toHex(await p.sha256(utf8('abc'))),
        'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      );
      assert.equal(
        toHex(await p.sha512(utf8('abc'))),
        'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
      );
    });

    it('seals and opens AES-256-GCM, returning null on any tampering', async () => {
      const key = random(32);
      const nonce = random(12);
      const aad = utf8('header');
      const sealed = await p.aesGcmEncrypt(key, nonce, utf8('payload'), aad);
      assert.equal(sealed.length, 7 + 16);
      assert.deepEqual(await p.aesGcmDecrypt(key, nonce, sealed, aad), utf8('payload'));
      const flipped = sealed.slice();
      flipped[0] = (flipped[0] as number) ^ 1;
      assert.equal(await p.aesGcmDecrypt(key, nonce, flipped, aad), null);
      assert.equal(await p.aesGcmDecrypt(key, nonce, sealed, utf8('other')), null);
      assert.equal(await p.aesGcmDecrypt(key, nonce, sealed.subarray(0, 10), aad), null);
    });

    it('uses the bytes a key array holds now, when one array is reused or rewritten in place', async () => {
      const other = random(32);
      const otherPublic = await p.x25519PublicKey(other);
      const key = random(32);
      const first = { pub: await p.x25519PublicKey(key), dh: await p.x25519(key, otherPublic) };
      assert.deepEqual(await p.x25519(key, otherPublic), first.dh);
      const rewritten = random(32);
      key.set(rewritten);
      assert.deepEqual(await p.x25519PublicKey(key), await p.x25519PublicKey(rewritten.slice()));
      assert.deepEqual(await p.x25519(key, otherPublic), await p.x25519(other, await p.x25519PublicKey(rewritten)));
      assert.notDeepEqual(await p.x25519(key, otherPublic), first.dh);
      const peer = otherPublic.slice();
      peer.set(first.pub);
      assert.deepEqual(await p.x25519(other, peer), first.dh);

      const seed = random(32);
      const message = utf8('m');
      const publicKey = await p.ed25519PublicKey(seed);
      const signature = await p.ed25519Sign(seed, message);
      assert.equal(await p.ed25519Verify(publicKey, message, signature), true);
      const seed2 = random(32);
      seed.set(seed2);
      assert.deepEqual(await p.ed25519PublicKey(seed), await p.ed25519PublicKey(seed2.slice()));
      assert.deepEqual(await p.ed25519Sign(seed, message), await p.ed25519Sign(seed2.slice(), message));
      publicKey.set(await p.ed25519PublicKey(seed2.slice()));
      assert.equal(await p.ed25519Verify(publicKey, message, signature), false);
    });

    it('runs ML-KEM-1024: shared secrets agree, tampering changes them', async () => {
      const seed = random(64);
      const { publicKey, secretKey } = await p.mlKemKeyPair(seed);
      assert.equal(publicKey.length, 1568);
      assert.deepEqual(publicKey, ml_kem1024.keygen(seed).publicKey, 'FIPS 203 KeyGen_internal(d, z)');
      const { ciphertext, sharedSecret } = await p.mlKemEncapsulate(publicKey, random(32));
      assert.deepEqual(await p.mlKemDecapsulate(secretKey, ciphertext), sharedSecret);
      // Either form of the decapsulation key (KemKeyPair) works with every provider.
      assert.deepEqual(await p.mlKemDecapsulate(seed, ciphertext), sharedSecret, 'seed form');
      assert.deepEqual(
        await p.mlKemDecapsulate(ml_kem1024.keygen(seed).secretKey, ciphertext),
        sharedSecret,
        'expanded',
      );
      await assert.rejects(p.mlKemDecapsulate(secretKey.subarray(1), ciphertext), (e: unknown) =>
        isProtocolError(e, 'INVALID_ARGUMENT'),
      );
      const bad = ciphertext.slice();
      bad[0] = (bad[0] as number) ^ 1;
      assert.notDeepEqual(await p.mlKemDecapsulate(secretKey, bad), sharedSecret);
      await assert.rejects(p.mlKemEncapsulate(publicKey.subarray(1), random(32)), (e: unknown) =>
        isProtocolError(e, 'INVALID_KEY'),
      );
    });
  });
}

describe('providers agree', () => {
  it('derive identical outputs from identical inputs', async () => {
    const [a, b] = providers as [CryptoProvider, CryptoProvider];
    const k1 = random(32);
    const k2 = random(32);
    const pub2 = await a.x25519PublicKey(k2);
    assert.deepEqual(await a.x25519PublicKey(k1), await b.x25519PublicKey(k1));
    assert.deepEqual(await a.x25519(k1, pub2), await b.x25519(k1, pub2));
    assert.deepEqual(await a.ed25519Sign(k1, utf8('m')), await b.ed25519Sign(k1, utf8('m')));
    assert.deepEqual(await a.hkdfSha256(k1, k2, utf8('i'), 44), await b.hkdfSha256(k1, k2, utf8('i'), 44));
    const n = random(12);
    assert.deepEqual(await a.aesGcmEncrypt(k1, n, utf8('p'), k2), await b.aesGcmEncrypt(k1, n, utf8('p'), k2));
  });
});
