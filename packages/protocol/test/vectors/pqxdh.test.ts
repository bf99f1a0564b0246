import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { concatBytes, decodeInitialMessage, decodeRatchetMessage, decrypt, utf8 } from '../../src/index.ts';
import { kdfRootKey } from '../../src/ratchet/kdf.ts';
import {
  assertFrozen,
  defaultNodeProvider,
  deviceFrom,
  fromHex,
  frozen,
  readVectors,
  rebuildProviders,
  toHex,
} from './kit.ts';
import {
  ALICE,
  build,
  contextOf,
  type PqxdhInputs,
  responder,
  responderPreKeyStore,
  VARIANTS,
} from './pqxdh.vectors.ts';

const v = readVectors<PqxdhInputs>('pqxdh');
const e = v.expected;
const all = [...rebuildProviders, defaultNodeProvider];

describe('PQXDH vectors', () => {
  // Only providers whose encapsulation takes the injected randomness can rebuild an initial
  // message (kit.ts, `rebuildProviders`); the default node provider is checked on the receiving side.
  for (const { label, provider } of rebuildProviders) {
    it(`rebuilds SK, the associated data, the first ratchet keys and the initial messages (${label})`, async () => {
      assertFrozen(await build(provider, v.inputs), e);
    });
  }

  for (const variant of VARIANTS) {
    describe(variant === 'oneTime' ? 'with one-time prekeys' : 'with the last-resort KEM prekey only', () => {
      const draws = v.inputs.variants[variant];
      const at = (name: string) => frozen(e, `${variant}.${name}`);

      it('decodes the frozen initial message field by field', async () => {
        const p = defaultNodeProvider.provider;
        const alice = await deviceFrom(p, v.inputs.alice);
        const bob = await deviceFrom(p, v.inputs.bob);
        const bytes = at('initialMessage');
        assert.deepEqual([bytes[0], bytes[1]], [1, 2], 'envelope: version 1, type initial');
        const m = decodeInitialMessage(bytes);
        assert.equal(toHex(m.senderIdentity), toHex(at('associatedData').subarray(0, 128)));
        assert.equal(toHex(m.senderIdentity.subarray(0, 32)), toHex(alice.publicIdentity.signingKey));
        assert.equal(toHex(m.recipientSigningKey), toHex(bob.publicIdentity.signingKey));
        assert.equal(m.signedPreKeyId, v.inputs.signedPreKey.id);
        assert.equal(m.oneTimePreKeyId, variant === 'oneTime' ? v.inputs.oneTimePreKey.id : undefined);
        assert.equal(m.kemPreKeyId, variant === 'oneTime' ? v.inputs.kemPreKey.id : v.inputs.lastResortKemPreKey.id);
        assert.equal(toHex(m.baseKey), toHex(await p.x25519PublicKey(fromHex(draws.ephemeral))));
        assert.equal(toHex(m.kemCiphertext), toHex(at('kemCiphertext')));
        const inner = decodeRatchetMessage(m.message);
        assert.equal(toHex(inner.header.ratchetKey), toHex(await p.x25519PublicKey(fromHex(draws.ratchetKey))));
        assert.deepEqual([inner.header.counter, inner.header.previousCounter], [0, 0]);
        assert.equal(inner.ciphertext.length, utf8(v.inputs.plaintext).length + 16);
      });

      it('has the associated data initiator identity ‖ responder identity', async () => {
        const p = defaultNodeProvider.provider;
        const alice = await deviceFrom(p, v.inputs.alice);
        const bob = await deviceFrom(p, v.inputs.bob);
        const identity = (d: typeof alice) =>
          concatBytes(d.publicIdentity.signingKey, d.publicIdentity.dhKey, d.publicIdentity.binding);
        assert.equal(toHex(at('associatedData')), toHex(concatBytes(identity(alice), identity(bob))));
      });

      it('starts the ratchet from the frozen SK: KDF_RK(SK, DH(ratchet key, signed prekey))', async () => {
        const p = defaultNodeProvider.provider;
        const bob = await responder(p, v.inputs);
        const dh = await p.x25519(fromHex(draws.ratchetKey), bob.signedPreKey.publicKey);
        const first = await kdfRootKey(p, at('sharedSecret'), dh);
        assert.equal(toHex(first.rootKey), toHex(at('rootKey')));
        assert.equal(toHex(first.chainKey), toHex(at('sendingChainKey')));
      });

      for (const { label, provider } of all) {
        it(`lets the responder recompute the frozen SK and read the frozen message (${label})`, async () => {
          const bob = await responder(provider, v.inputs);
          const alice = await deviceFrom(provider, v.inputs.alice);
          const m = decodeInitialMessage(at('initialMessage'));
          const kem = variant === 'oneTime' ? bob.kemPreKey : bob.lastResortKemPreKey;
          const ss = await provider.mlKemDecapsulate(kem.secretKey, m.kemCiphertext);
          assert.equal(toHex(ss), toHex(at('kemSharedSecret')));
          const spk = bob.signedPreKey.privateKey;
          const dhs = [
            await provider.x25519(spk, alice.publicIdentity.dhKey),
            await provider.x25519(bob.identity.dhPrivateKey, m.baseKey),
            await provider.x25519(spk, m.baseKey),
          ];
          if (variant === 'oneTime') dhs.push(await provider.x25519(bob.oneTimePreKey.privateKey, m.baseKey));
          const F = new Uint8Array(32).fill(0xff);
          const info = utf8('Parley_PQXDH_X25519_SHA-256_ML-KEM-1024');
          const sk = await provider.hkdfSha256(concatBytes(F, ...dhs, ss), new Uint8Array(32), info, 32);
          assert.equal(toHex(sk), toHex(at('sharedSecret')));

          // Bob's one draw: the ratchet key of his first DH ratchet step (any bytes do here).
          const ctx = contextOf(provider, bob.identity, [toHex(new Uint8Array(32).fill(7))], responderPreKeyStore(bob));
          const plaintext = await decrypt(ctx, ALICE, at('initialMessage'));
          assert.equal(new TextDecoder().decode(plaintext), v.inputs.plaintext);
        });
      }
    });
  }
});
