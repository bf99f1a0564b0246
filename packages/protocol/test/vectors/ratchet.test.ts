import assert from 'node:assert/strict';
import { createHmac, hkdfSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { assertFrozen, defaultNodeProvider, fromHex, frozen, readVectors, rebuildProviders, toHex } from './kit.ts';
import { build, type RatchetInputs } from './ratchet.vectors.ts';

const v = readVectors<RatchetInputs>('ratchet');
const e = v.expected;

describe('Double Ratchet KDF vectors', () => {
  for (const { label, provider } of [...rebuildProviders, defaultNodeProvider]) {
    it(`rebuilds the frozen root, chain and message keys (${label})`, async () => {
      assertFrozen(await build(provider, v.inputs), e);
    });
  }

  it('has KDF_RK = HKDF-SHA-256(salt = root key, ikm = DH output, "Parley_Ratchet_RootKey", 64) split 32/32', () => {
    let rootKey = fromHex(v.inputs.rootKey);
    for (const [i, dh] of v.inputs.dhOutputs.entries()) {
      const out = new Uint8Array(hkdfSync('sha256', fromHex(dh), rootKey, 'Parley_Ratchet_RootKey', 64));
      assert.equal(toHex(out.subarray(0, 32)), e[`root${i + 1}.rootKey`]);
      assert.equal(toHex(out.subarray(32)), e[`root${i + 1}.chainKey`]);
      rootKey = out.slice(0, 32);
    }
  });

  it('has KDF_CK = HMAC-SHA-256(chain key, 0x01 | 0x02) and the AES key and nonce by HKDF of the message key', () => {
    let chainKey = fromHex(v.inputs.chainKey);
    for (let i = 1; i <= v.inputs.chainSteps; i++) {
      const messageKey = createHmac('sha256', chainKey).update(Uint8Array.of(1)).digest();
      assert.equal(toHex(messageKey), e[`chain${i}.messageKey`]);
      chainKey = frozen(e, `chain${i}.chainKey`);
      const previous = i === 1 ? fromHex(v.inputs.chainKey) : frozen(e, `chain${i - 1}.chainKey`);
      assert.equal(toHex(createHmac('sha256', previous).update(Uint8Array.of(2)).digest()), toHex(chainKey));
      const material = new Uint8Array(
        hkdfSync('sha256', messageKey, new Uint8Array(32), 'Parley_Ratchet_MessageKeys', 44),
      );
      assert.equal(toHex(material.subarray(0, 32)), e[`chain${i}.aesKey`]);
      assert.equal(toHex(material.subarray(32)), e[`chain${i}.nonce`]);
    }
  });
});
