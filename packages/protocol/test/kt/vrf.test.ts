import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { isProtocolError } from '../../src/index.ts';
import {
  generateVrfKeyPair,
  ktAccountVrfInput,
  ktMapKey,
  VRF_OUTPUT_LENGTH,
  VRF_PROOF_LENGTH,
  vrfKeyPair,
  vrfProofToHash,
  vrfProve,
  vrfVerify,
} from '../../src/kt/index.ts';

const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isVrfInvalid = (err: unknown): boolean => isProtocolError(err, 'VRF_INVALID');

/** RFC 9381 Appendix B.3, ECVRF-EDWARDS25519-SHA512-TAI, Examples 16, 17 and 18 (all of them). */
const RFC9381_B3 = [
  {
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    alpha: '',
    pi:
      '8657106690b5526245a92b003bb079ccd1a92130477671f6fc01ad16f26f723f' +
      '26f8a57ccaed74ee1b190bed1f479d9727d2d0f9b005a6e456a35d4fb0daab12' +
      '68a1b0db10836d9826a528ca76567805',
    beta:
      '90cf1df3b703cce59e2a35b925d411164068269d7b2d29f3301c03dd757876ff' +
      '66b71dda49d2de59d03450451af026798e8f81cd2e333de5cdf4f3e140fdd8ae',
  },
  {
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    alpha: '72',
    pi:
      'f3141cd382dc42909d19ec5110469e4feae18300e94f304590abdced48aed593' +
      '3bf0864a62558b3ed7f2fea45c92a465301b3bbf5e3e54ddf2d935be3b67926d' +
      'a3ef39226bbc355bdc9850112c8f4b02',
    beta:
      'eb4440665d3891d668e7e0fcaf587f1b4bd7fbfe99d0eb2211ccec90496310eb' +
      '5e33821bc613efb94db5e5b54c70a848a0bef4553a41befc57663b56373a5031',
  },
  {
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    alpha: 'af82',
    pi:
      '9bc0f79119cc5604bf02d23b4caede71393cedfbb191434dd016d30177ccbf80' +
      '96bb474e53895c362d8628ee9f9ea3c0e52c7a5c691b6c18c9979866568add7a' +
      '2d41b00b05081ed0f58ee5e31b3a970e',
    beta:
      '645427e5d00c62a23fb703732fa5d892940935942101e456ecca7bb217c61c45' +
      '2118fec1219202a0edcf038bb6373241578be7217ba85a2687f7a0310b2df19f',
  },
];

/** Our own vector (docs/protocol.md §18): seed 00 01 … 1f, account name "alice". */
const OWN = {
  sk: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
  pk: '03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8',
  name: 'alice',
  alpha: '7061726c65792d6b742d7631206163636f756e7400616c696365',
  pi:
    '4370720dc08ca1f5c63f35316d3a8eb28955e34d11c6209c2f8972d34350f601' +
    '7853d9a9c4e92d2e41b89985ac98147accb2a96e1df4cec12449edc8afd21f39' +
    'feb6b0e078c69484c82a3495664dd706',
  beta:
    'dcd4e2918f3a18f7b95514bd321cb3bdc03604920009c3111a5603a352f1cbb9' +
    'f987ff42dc352dfbb9eca3b2da1d6b48391618a6ee9b3ad098722b7fe0011256',
  mapKey: 'dcd4e2918f3a18f7b95514bd321cb3bdc03604920009c3111a5603a352f1cbb9',
};

/** The group order L of edwards25519. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

function leInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}
function leBytes(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** The encodings of the eight points of small order on edwards25519 (y, with both x signs where x ≠ 0). */
const SMALL_ORDER_KEYS = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity (order 1)
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // (0, -1), order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
];

/**
 * A proof for the identity as public key (x = 0, so Gamma = 0·H is the identity and s = k): it
 * satisfies every verification equation for any alpha, which is why validate_key refuses keys of
 * small order. Built here from RFC 9381 §5.4.1.1 and §5.4.3 directly, independent of the module.
 */
function forgeForIdentityKey(alpha: Uint8Array): { publicKey: Uint8Array; proof: Uint8Array } {
  const { Point } = ed25519;
  const publicKey = Point.ZERO.toBytes();
  let h: InstanceType<typeof Point> | undefined;
  for (let ctr = 0; h === undefined; ctr++) {
    const hash = sha512(new Uint8Array([3, 1, ...publicKey, ...alpha, ctr, 0]));
    try {
      const candidate = Point.fromBytes(hash.subarray(0, 32)).clearCofactor();
      if (!candidate.is0()) h = candidate;
    } catch {}
  }
  const k = 12345n;
  const gamma = Point.ZERO;
  const points = [Point.ZERO, h, gamma, Point.BASE.multiply(k), h.multiply(k)].flatMap((p) => [...p.toBytes()]);
  const c = sha512(new Uint8Array([3, 2, ...points, 0])).subarray(0, 16);
  return { publicKey, proof: new Uint8Array([...gamma.toBytes(), ...c, ...leBytes(k, 32)]) };
}

describe('ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381)', () => {
  for (const [i, v] of RFC9381_B3.entries()) {
    it(`reproduces RFC 9381 Appendix B.3 Example ${16 + i}: PK, pi, beta, and verify`, () => {
      const kp = vrfKeyPair(fromHex(v.sk));
      assert.equal(toHex(kp.publicKey), v.pk);
      const proof = vrfProve(kp.secretKey, fromHex(v.alpha));
      assert.equal(toHex(proof), v.pi);
      assert.equal(toHex(vrfProofToHash(fromHex(v.pi))), v.beta);
      assert.equal(toHex(vrfVerify(fromHex(v.pk), fromHex(v.alpha), fromHex(v.pi))), v.beta);
    });
  }

  it("reproduces Parley's own account-name vector (docs/protocol.md §18)", () => {
    const kp = vrfKeyPair(fromHex(OWN.sk));
    assert.equal(toHex(kp.publicKey), OWN.pk);
    const alpha = ktAccountVrfInput(OWN.name);
    assert.equal(toHex(alpha), OWN.alpha);
    assert.equal(Buffer.from(alpha).toString('utf8'), `parley-kt-v1 account\0${OWN.name}`);
    const proof = vrfProve(kp.secretKey, alpha);
    assert.equal(toHex(proof), OWN.pi);
    const beta = vrfVerify(kp.publicKey, alpha, proof);
    assert.equal(toHex(beta), OWN.beta);
    assert.equal(toHex(ktMapKey(beta)), OWN.mapKey);
  });

  it('derives the same public key as Ed25519 in node:crypto (RFC 8032 §5.1.5)', () => {
    for (const sk of [OWN.sk, ...RFC9381_B3.map((v) => v.sk)]) {
      const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), fromHex(sk)]);
      const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({
        format: 'jwk',
      });
      assert.equal(toHex(vrfKeyPair(fromHex(sk)).publicKey), toHex(Buffer.from(jwk.x as string, 'base64url')));
    }
  });

  it('generateVrfKeyPair draws its secret key from the injected source', () => {
    const seed = fromHex(OWN.sk);
    const kp = generateVrfKeyPair((n) => seed.slice(0, n));
    assert.equal(toHex(kp.secretKey), OWN.sk);
    assert.equal(toHex(kp.publicKey), OWN.pk);
  });

  describe('verify rejects', () => {
    const v = RFC9381_B3[1] as (typeof RFC9381_B3)[number];
    const pk = fromHex(v.pk);
    const alpha = fromHex(v.alpha);
    const pi = fromHex(v.pi);

    it('a proof or public key of the wrong length', () => {
      for (const bad of [pi.subarray(0, 79), new Uint8Array([...pi, 0]), new Uint8Array(0)]) {
        assert.throws(() => vrfVerify(pk, alpha, bad), isVrfInvalid);
        assert.throws(() => vrfProofToHash(bad), isVrfInvalid);
      }
      assert.throws(() => vrfVerify(pk.subarray(0, 31), alpha, pi), isVrfInvalid);
      assert.throws(() => vrfVerify(new Uint8Array([...pk, 0]), alpha, pi), isVrfInvalid);
    });

    it('a scalar s that is not below the group order (s + L is the same scalar mod L)', () => {
      const s = leInt(pi.subarray(48));
      assert.ok(s + L < 2n ** 256n);
      const malleated = new Uint8Array([...pi.subarray(0, 48), ...leBytes(s + L, 32)]);
      assert.throws(() => vrfVerify(pk, alpha, malleated), isVrfInvalid);
      const exactlyL = new Uint8Array([...pi.subarray(0, 48), ...leBytes(L, 32)]);
      assert.throws(() => vrfVerify(pk, alpha, exactlyL), isVrfInvalid);
      const allOnes = new Uint8Array([...pi.subarray(0, 48), ...new Uint8Array(32).fill(0xff)]);
      assert.throws(() => vrfVerify(pk, alpha, allOnes), isVrfInvalid);
    });

    it('a Gamma that is not a canonical point encoding', () => {
      // y = p + 1 ≥ p (the non-canonical spelling of y = 1), and y = 1 with x = 0 but the sign bit set.
      for (const gamma of [leBytes(P + 1n, 32), fromHex(`01${'00'.repeat(30)}80`)]) {
        const bad = new Uint8Array([...gamma, ...pi.subarray(32)]);
        assert.throws(() => vrfVerify(pk, alpha, bad), isVrfInvalid);
        assert.throws(() => vrfProofToHash(bad), isVrfInvalid);
      }
    });

    it('a public key that is not a canonical point encoding or not on the curve', () => {
      // The public key's y + p (bit 255 is the sign, so y + p < 2^255 must hold to be expressible).
      const y = leInt(pk) & ((1n << 255n) - 1n);
      const nonCanonical = [leBytes(P, 32), leBytes(P + 1n, 32), fromHex(`01${'00'.repeat(30)}80`)];
      if (y + P < 2n ** 255n) nonCanonical.push(leBytes(y + P, 32));
      for (const bad of nonCanonical) assert.throws(() => vrfVerify(bad, alpha, pi), isVrfInvalid);
      // y = 2 is not the y-coordinate of any point on edwards25519.
      assert.throws(() => vrfVerify(leBytes(2n, 32), alpha, pi), isVrfInvalid);
    });

    it('every public key of small order (validate_key)', () => {
      for (const key of SMALL_ORDER_KEYS) {
        assert.throws(() => vrfVerify(fromHex(key), alpha, pi), isVrfInvalid, key);
      }
      // The identity as key admits a proof for any input; validate_key is what refuses it.
      for (const input of [alpha, fromHex('00'), ktAccountVrfInput('alice')]) {
        const forged = forgeForIdentityKey(input);
        assert.equal(toHex(forged.publicKey), SMALL_ORDER_KEYS[0]);
        assert.throws(() => vrfVerify(forged.publicKey, input, forged.proof), isVrfInvalid);
      }
    });

    it('a proof for another input or under another key', () => {
      assert.throws(() => vrfVerify(pk, fromHex('73'), pi), isVrfInvalid);
      assert.throws(() => vrfVerify(pk, new Uint8Array(0), pi), isVrfInvalid);
      assert.throws(() => vrfVerify(fromHex(OWN.pk), alpha, pi), isVrfInvalid);
    });

    it('every single-bit flip of a valid proof (all 640 bits)', () => {
      for (let bit = 0; bit < VRF_PROOF_LENGTH * 8; bit++) {
        const bad = pi.slice();
        bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
        assert.throws(() => vrfVerify(pk, alpha, bad), isVrfInvalid, `bit ${bit}`);
      }
    });

    it('a single-bit flip in every byte of the public key', () => {
      for (let byte = 0; byte < 32; byte++) {
        const bit = byte * 8 + (byte % 8);
        const bad = pk.slice();
        bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
        assert.throws(() => vrfVerify(bad, alpha, pi), isVrfInvalid, `bit ${bit}`);
      }
    });
  });

  describe('properties', () => {
    const seeds = fc.uint8Array({ minLength: 32, maxLength: 32 });
    const inputs = fc.uint8Array({ maxLength: 64 });

    it('prove then verify round-trips, and verify returns proof_to_hash of the proof', () => {
      fc.assert(
        fc.property(seeds, inputs, (seed, alpha) => {
          const kp = vrfKeyPair(seed);
          const proof = vrfProve(kp.secretKey, alpha);
          assert.equal(proof.length, VRF_PROOF_LENGTH);
          const beta = vrfVerify(kp.publicKey, alpha, proof);
          assert.equal(beta.length, VRF_OUTPUT_LENGTH);
          assert.deepEqual(beta, vrfProofToHash(proof));
          // Deterministic: the same key and input give the same proof.
          assert.deepEqual(vrfProve(kp.secretKey, alpha), proof);
        }),
        { numRuns: 25 },
      );
    });

    it('any single-bit flip of proof, input or public key is rejected', () => {
      fc.assert(
        fc.property(seeds, inputs, fc.constantFrom('proof', 'alpha', 'key'), fc.nat(), (seed, alpha, where, n) => {
          const kp = vrfKeyPair(seed);
          const proof = vrfProve(kp.secretKey, alpha);
          const flip = (bytes: Uint8Array): Uint8Array => {
            const out = bytes.slice();
            const bit = n % (bytes.length * 8);
            out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
            return out;
          };
          if (where === 'alpha' && alpha.length === 0) {
            assert.throws(() => vrfVerify(kp.publicKey, Uint8Array.of(n & 0xff), proof), isVrfInvalid);
            return;
          }
          const args: [Uint8Array, Uint8Array, Uint8Array] =
            where === 'proof'
              ? [kp.publicKey, alpha, flip(proof)]
              : where === 'alpha'
                ? [kp.publicKey, flip(alpha), proof]
                : [flip(kp.publicKey), alpha, proof];
          assert.throws(() => vrfVerify(...args), isVrfInvalid);
        }),
        { numRuns: 40 },
      );
    });
  });

  describe('account names', () => {
    it('ktAccountVrfInput refuses names the relay would refuse', () => {
      for (const bad of ['Alice', 'al', 'a'.repeat(33), 'alice\0', 'ålice', '']) {
        assert.throws(
          () => ktAccountVrfInput(bad),
          (err) => isProtocolError(err, 'INVALID_ARGUMENT'),
          bad,
        );
      }
    });

    it('different names map to different keys', () => {
      const kp = vrfKeyPair(fromHex(OWN.sk));
      const key = (name: string) => {
        const alpha = ktAccountVrfInput(name);
        return toHex(ktMapKey(vrfVerify(kp.publicKey, alpha, vrfProve(kp.secretKey, alpha))));
      };
      assert.notEqual(key('alice'), key('alice.'));
      assert.equal(key('alice'), OWN.mapKey);
    });
  });
});
