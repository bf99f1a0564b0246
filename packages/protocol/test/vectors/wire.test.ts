import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodePreKeyBundle,
  decodeRatchetMessage,
  encodeDeviceIdentityPublic,
  initiate,
  isProtocolError,
  peekMessageType,
} from '../../src/index.ts';
import { assertFrozen, defaultNodeProvider, fixedRandom, frozen, readVectors, rebuildProviders, toHex } from './kit.ts';
import { responder } from './pqxdh.vectors.ts';
import { build, type WireInputs } from './wire.vectors.ts';

const v = readVectors<WireInputs>('wire');
const e = v.expected;
const p = defaultNodeProvider.provider;

describe('wire vectors', () => {
  for (const { label, provider } of [...rebuildProviders, defaultNodeProvider]) {
    it(`rebuilds the frozen bundles and ratchet message (${label})`, async () => {
      assertFrozen(await build(provider, v.inputs), e);
    });
  }

  it('decodes the frozen bundle with one-time prekeys field by field', async () => {
    const bob = await responder(p, v.inputs);
    const bytes = frozen(e, 'bundleWithOneTimePreKeys');
    assert.equal(peekMessageType(bytes), 'preKeyBundle');
    const b = decodePreKeyBundle(bytes);
    assert.equal(toHex(b.identity), toHex(encodeDeviceIdentityPublic(bob.identity.publicIdentity)));
    assert.deepEqual(
      [b.signedPreKey.id, toHex(b.signedPreKey.publicKey), toHex(b.signedPreKey.signature)],
      [v.inputs.signedPreKey.id, toHex(bob.signedPreKey.publicKey), toHex(bob.signedPreKey.signature)],
    );
    assert.deepEqual(
      [b.oneTimePreKey?.id, toHex(b.oneTimePreKey?.publicKey ?? new Uint8Array())],
      [v.inputs.oneTimePreKey.id, toHex(bob.oneTimePreKey.publicKey)],
    );
    assert.deepEqual(
      [b.kemPreKey?.id, b.kemPreKey?.lastResort, toHex(b.kemPreKey?.publicKey ?? new Uint8Array())],
      [v.inputs.kemPreKey.id, false, toHex(bob.kemPreKey.publicKey)],
    );
    assert.equal(toHex(b.kemPreKey?.signature ?? new Uint8Array()), toHex(bob.kemPreKey.signature));
  });

  it('decodes the frozen last-resort bundle: no one-time prekey, the KEM prekey flagged last resort', async () => {
    const bob = await responder(p, v.inputs);
    const b = decodePreKeyBundle(frozen(e, 'bundleLastResort'));
    assert.equal(b.oneTimePreKey, undefined);
    assert.deepEqual([b.kemPreKey?.id, b.kemPreKey?.lastResort], [v.inputs.lastResortKemPreKey.id, true]);
    assert.equal(toHex(b.kemPreKey?.publicKey ?? new Uint8Array()), toHex(bob.lastResortKemPreKey.publicKey));
  });

  it('decodes the frozen bundle without a KEM prekey, which PQXDH then refuses', async () => {
    const b = decodePreKeyBundle(frozen(e, 'bundleWithoutKemPreKey'));
    assert.equal(b.kemPreKey, undefined);
    const initiator = await responder(p, v.inputs);
    await assert.rejects(initiate(p, fixedRandom([]), initiator.identity, b, { now: 0 }), (err: unknown) =>
      isProtocolError(err, 'MISSING_PQ_PREKEY'),
    );
  });

  it('decodes the frozen ratchet message: multi-byte varint counters, the exact header bytes kept', () => {
    const m = decodeRatchetMessage(frozen(e, 'ratchetMessage'));
    const want = v.inputs.ratchetMessage;
    assert.deepEqual(
      [toHex(m.header.ratchetKey), m.header.counter, m.header.previousCounter, toHex(m.ciphertext)],
      [want.ratchetKey, want.counter, want.previousCounter, want.ciphertext],
    );
    assert.equal(toHex(m.headerBytes), e.ratchetHeader);
    assert.equal(e.ratchetHeaderAssociatedData, `0101${e.ratchetHeader}`);
  });
});
