import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { compareSafetyNumberQr, computeSafetyNumber } from '../../src/index.ts';
import { assertFrozen, defaultNodeProvider, fromHex, frozen, readVectors, rebuildProviders, toHex } from './kit.ts';
import { build, type SafetyNumberInputs } from './safety-number.vectors.ts';

const v = readVectors<SafetyNumberInputs>('safety-number');

/** A fingerprint as docs/protocol.md §7 describes it, computed here on node:crypto. */
function fingerprint(name: string, key: Uint8Array): Uint8Array {
  let hash: Uint8Array = Buffer.concat([Buffer.from([0, 0]), key, Buffer.from(name, 'utf8')]);
  for (let i = 0; i < 5200; i++) hash = createHash('sha512').update(hash).update(key).digest();
  return hash.subarray(0, 32);
}

describe('safety number vectors', () => {
  for (const { label, provider } of [...rebuildProviders, defaultNodeProvider]) {
    it(`rebuilds the frozen digits and QR payload (${label})`, async () => {
      assertFrozen(await build(provider, v.inputs), v.expected);
    });
  }

  it('shows Bob the frozen digits and QR payload from his side too', async () => {
    const number = await computeSafetyNumber(defaultNodeProvider.provider, {
      ourName: v.inputs.bobName,
      ourAccountKey: frozen(v.expected, 'bobAccountKey'),
      theirName: v.inputs.aliceName,
      theirAccountKey: frozen(v.expected, 'aliceAccountKey'),
    });
    assert.equal(number.digits, v.expected.digits);
    assert.equal(toHex(number.qrPayload), v.expected.qrPayload);
    assert.deepEqual(number.groups, v.expected.digits?.match(/.{5}/g));
    assert.equal(number.groups.length, 12);
  });

  it('decodes the frozen QR payload: version 1, then both fingerprints in sorted order', async () => {
    const qr = frozen(v.expected, 'qrPayload');
    assert.equal(qr.length, 65);
    assert.equal(qr[0], 1);
    const prints = [
      toHex(fingerprint(v.inputs.aliceName, frozen(v.expected, 'aliceAccountKey'))),
      toHex(fingerprint(v.inputs.bobName, frozen(v.expected, 'bobAccountKey'))),
    ].sort();
    assert.deepEqual([toHex(qr.subarray(1, 33)), toHex(qr.subarray(33))], prints);
    const ours = await computeSafetyNumber(defaultNodeProvider.provider, {
      ourName: v.inputs.aliceName,
      ourAccountKey: frozen(v.expected, 'aliceAccountKey'),
      theirName: v.inputs.bobName,
      theirAccountKey: frozen(v.expected, 'bobAccountKey'),
    });
    assert.equal(compareSafetyNumberQr(ours, qr), true);
    assert.equal(compareSafetyNumberQr(ours, fromHex(`01${'00'.repeat(64)}`)), false);
  });
});
