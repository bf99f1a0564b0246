import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeInitialMessage,
  decodeRatchetMessage,
  decodeSessionRecord,
  decrypt,
  encodeSessionRecord,
  type SessionState,
} from '../../src/index.ts';
import { assertFrozen, defaultNodeProvider, fromHex, frozen, readVectors, rebuildProviders, toHex } from './kit.ts';
import { ALICE, contextOf, responder, responderPreKeyStore } from './pqxdh.vectors.ts';
import { build, type SessionInputs } from './session.vectors.ts';

const v = readVectors<SessionInputs>('session');
const e = v.expected;
const all = [...rebuildProviders, defaultNodeProvider];
const p = defaultNodeProvider.provider;
const publicOf = async (privateKey: string) => toHex(await p.x25519PublicKey(fromHex(privateKey)));

function current(name: string): SessionState {
  const state = decodeSessionRecord(frozen(e, name)).current;
  assert.ok(state, `${name} has a current state`);
  return state;
}

describe('session vectors', () => {
  for (const { label, provider } of rebuildProviders) {
    it(`replays the conversation to the frozen messages and records (${label})`, async () => {
      assertFrozen(await build(provider, v.inputs), e);
    });
  }

  it('decodes the frozen messages: initial a1–a3 on Alice’s first chain, then b1 and a4 after a DH step each', async () => {
    const [, , aliceFirst, aliceSecond] = await Promise.all(v.inputs.aliceDraws.map(publicOf));
    const [bobFirst] = await Promise.all(v.inputs.bobDraws.map(publicOf));
    for (const [i, name] of ['a1', 'a2', 'a3'].entries()) {
      const inner = decodeRatchetMessage(decodeInitialMessage(frozen(e, name)).message);
      assert.deepEqual(
        [toHex(inner.header.ratchetKey), inner.header.counter, inner.header.previousCounter],
        [aliceFirst, i, 0],
      );
    }
    const b1 = decodeRatchetMessage(frozen(e, 'b1'));
    assert.deepEqual([toHex(b1.header.ratchetKey), b1.header.counter, b1.header.previousCounter], [bobFirst, 0, 0]);
    const a4 = decodeRatchetMessage(frozen(e, 'a4'));
    assert.deepEqual([toHex(a4.header.ratchetKey), a4.header.counter, a4.header.previousCounter], [aliceSecond, 0, 3]);
    assert.deepEqual([...frozen(e, 'a4').subarray(0, 2)], [1, 1], 'envelope: version 1, type ratchet');
  });

  it("decodes Alice's frozen pending record: initiator, three sent, the initial message's fields kept", async () => {
    const s = current('alicePendingRecord');
    const [ephemeral, , aliceFirst] = await Promise.all(v.inputs.aliceDraws.map(publicOf));
    const bob = await responder(p, v.inputs);
    assert.equal(s.initiator, true);
    assert.equal(toHex(s.baseKey), ephemeral);
    assert.equal(toHex(s.sendingRatchetKey.publicKey), aliceFirst);
    assert.equal(toHex(s.sendingRatchetKey.privateKey), v.inputs.aliceDraws[2]);
    assert.equal(s.sendingChain?.index, 3);
    assert.equal(s.receivingChain, undefined);
    assert.deepEqual(s.previousRatchetKeys.map(toHex), [toHex(bob.signedPreKey.publicKey)]);
    assert.deepEqual(s.pendingInitial && [s.pendingInitial.signedPreKeyId, s.pendingInitial.oneTimePreKeyId], [
      v.inputs.signedPreKey.id,
      v.inputs.oneTimePreKey.id,
    ]);
    assert.equal(s.pendingInitial?.kemPreKeyId, v.inputs.kemPreKey.id);
    assert.equal(
      toHex(s.pendingInitial?.kemCiphertext ?? new Uint8Array()),
      toHex(decodeInitialMessage(frozen(e, 'a1')).kemCiphertext),
    );
    assert.equal(toHex(s.associatedData.subarray(0, 128)), toHex(s.localIdentity));
    assert.equal(toHex(s.associatedData.subarray(128)), toHex(s.remoteIdentity));
  });

  it("decodes Bob's frozen record after a3: the keys of a1 and a2 kept as skipped", async () => {
    const s = current('bobAfterA3Record');
    const [, , aliceFirst] = await Promise.all(v.inputs.aliceDraws.map(publicOf));
    assert.equal(s.initiator, false);
    assert.equal(s.pendingInitial, undefined);
    assert.deepEqual(
      s.skippedKeys.map((k) => [toHex(k.ratchetKey), k.index]),
      [
        [aliceFirst, 0],
        [aliceFirst, 1],
      ],
    );
    assert.equal(toHex(s.receivingChain?.ratchetKey ?? new Uint8Array()), aliceFirst);
    assert.equal(s.receivingChain?.index, 3);
    assert.equal(toHex(s.sendingRatchetKey.privateKey), v.inputs.bobDraws[0]);
  });

  it('decodes both final records: finished chains remembered, one skipped key left for a2', async () => {
    const alice = current('aliceFinalRecord');
    const bob = current('bobFinalRecord');
    const [, , aliceFirst, aliceSecond] = await Promise.all(v.inputs.aliceDraws.map(publicOf));
    const [bobFirst, bobSecond] = await Promise.all(v.inputs.bobDraws.map(publicOf));
    assert.equal(alice.pendingInitial, undefined);
    assert.equal(toHex(alice.sendingRatchetKey.publicKey), aliceSecond);
    assert.deepEqual([alice.sendingChain?.index, alice.previousCounter], [1, 3]);
    assert.equal(toHex(alice.receivingChain?.ratchetKey ?? new Uint8Array()), bobFirst);
    assert.equal(toHex(bob.sendingRatchetKey.publicKey), bobSecond);
    assert.deepEqual(bob.previousRatchetKeys.map(toHex), [aliceFirst]);
    assert.deepEqual(bob.previousCounter, 1);
    assert.deepEqual(
      bob.skippedKeys.map((k) => [toHex(k.ratchetKey), k.index]),
      [[aliceFirst, 1]],
    );
    const withPrevious = decodeSessionRecord(frozen(e, 'aliceWithPreviousRecord'));
    assert.equal(withPrevious.previous.length, 1);
    assert.deepEqual([...frozen(e, 'aliceWithPreviousRecord').subarray(0, 2)], [1, 2], 'version 1, two states');
    assert.equal(toHex(encodeSessionRecord({ ...withPrevious, previous: [] })), e.aliceFinalRecord);
  });

  it('re-encodes every decoded frozen record to the same bytes', () => {
    for (const name of [
      'alicePendingRecord',
      'bobAfterA3Record',
      'aliceFinalRecord',
      'bobFinalRecord',
      'aliceWithPreviousRecord',
    ]) {
      assert.equal(toHex(encodeSessionRecord(decodeSessionRecord(frozen(e, name)))), e[name], name);
    }
  });

  for (const { label, provider } of all) {
    it(`opens the frozen, never delivered a2 with Bob's frozen final record (${label})`, async () => {
      const bob = await responder(provider, v.inputs);
      const ctx = contextOf(provider, bob.identity, [], responderPreKeyStore(bob));
      const store = ctx.sessionStore;
      await store.storeSession(ALICE, decodeSessionRecord(frozen(e, 'bobFinalRecord')));
      const plaintext = await decrypt(ctx, ALICE, frozen(e, 'a2'));
      assert.equal(new TextDecoder().decode(plaintext), v.inputs.texts.a2);
      assert.equal((await store.loadSession(ALICE))?.current?.skippedKeys.length, 0, 'its key is used up');
    });
  }
});
