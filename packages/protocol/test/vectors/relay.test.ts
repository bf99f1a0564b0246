import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertFrozen, defaultNodeProvider, frozen, readVectors, rebuildProviders, toHex } from './kit.ts';
import { build, type RelayInputs } from './relay.vectors.ts';

const v = readVectors<RelayInputs>('relay');
const e = v.expected;
const all = [...rebuildProviders, defaultNodeProvider];

describe('relay vectors', () => {
  for (const { label, provider } of all) {
    it(`rebuilds the frozen signed bytes and signatures (${label})`, async () => {
      assertFrozen(await build(provider, v.inputs), e);
    });
  }

  for (const [name, device] of [
    ['auth', v.inputs.device],
    ['register', 0],
  ] as const) {
    it(`decodes the frozen ${name} bytes: label ‖ nonce ‖ u32 name length ‖ name ‖ u32 device, signature verifies`, async () => {
      const bytes = frozen(e, `${name}SignedBytes`);
      const label = 'Parley/v1/relay-auth';
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      let at = label.length;
      assert.equal(new TextDecoder().decode(bytes.subarray(0, at)), label);
      assert.equal(toHex(bytes.subarray(at, at + 32)), v.inputs.nonce);
      at += 32;
      const nameLength = view.getUint32(at);
      at += 4;
      assert.equal(new TextDecoder().decode(bytes.subarray(at, at + nameLength)), v.inputs.name);
      at += nameLength;
      assert.equal(view.getUint32(at), device);
      assert.equal(at + 4, bytes.length);
      for (const { label: provider, provider: p } of all) {
        assert.equal(
          await p.ed25519Verify(frozen(e, 'signingKey'), bytes, frozen(e, `${name}Signature`)),
          true,
          provider,
        );
      }
    });
  }
});
