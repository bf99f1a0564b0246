/**
 * The signed creation time of prekeys (docs/protocol.md §1.1): signatures cover it, and an
 * initiator refuses a signed prekey or last-resort ML-KEM prekey older than its bound (or dated
 * in the future) with STALE_PREKEY, so a server cannot keep serving keys a copied home holds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  generateSignedPreKey,
  isProtocolError,
  MAX_PREKEY_AGE_MS,
  MAX_PREKEY_CLOCK_SKEW_MS,
  type PreKeyBundle,
  processPreKeyBundle,
} from '../../src/index.ts';
import { bundleOf, createParty, provider, random } from '../helpers/parties.ts';

const stale = (err: unknown) => isProtocolError(err, 'STALE_PREKEY');
const badSignature = (err: unknown) => isProtocolError(err, 'INVALID_SIGNATURE');

describe('prekey creation times', () => {
  it('accepts a signed prekey up to the bound and refuses one a millisecond older', async () => {
    // createParty signs its prekeys at time 0.
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    await processPreKeyBundle(alice.ctx, bob.address, await bundleOf(bob), { now: MAX_PREKEY_AGE_MS });
    await assert.rejects(
      processPreKeyBundle(alice.ctx, bob.address, await bundleOf(bob), { now: MAX_PREKEY_AGE_MS + 1 }),
      stale,
    );
    await assert.rejects(
      processPreKeyBundle(alice.ctx, bob.address, await bundleOf(bob), { now: 3_000, maxAgeMs: 2_000 }),
      stale,
    );
  });

  it('refuses an old last-resort ML-KEM prekey but not an old one-time one', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    // A signed prekey made at 10 s; the ML-KEM prekeys were made at 0.
    const spk = await generateSignedPreKey(provider, random, bob.identity, 2, 10_000);
    bob.preKeyStore.addSignedPreKey(spk);
    const newSpk = { id: 2, publicKey: spk.publicKey, signature: spk.signature, createdAt: 10 };
    const age = { now: 12_000, maxAgeMs: 5_000 };
    const lastResort: PreKeyBundle = { ...(await bundleOf(bob, { lastResort: true })), signedPreKey: newSpk };
    await assert.rejects(processPreKeyBundle(alice.ctx, bob.address, lastResort, age), stale);
    const oneTime: PreKeyBundle = { ...(await bundleOf(bob)), signedPreKey: newSpk };
    await processPreKeyBundle(alice.ctx, bob.address, oneTime, age);
  });

  it('refuses a creation time in the future beyond the allowed skew', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    // Signed at 0: a clock more than the skew behind it refuses.
    await assert.rejects(
      processPreKeyBundle(alice.ctx, bob.address, await bundleOf(bob), { now: -MAX_PREKEY_CLOCK_SKEW_MS - 1 }),
      stale,
    );
  });

  it('a server that re-dates a key breaks its signature', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    const b = await bundleOf(bob);
    const redatedSpk: PreKeyBundle = {
      ...b,
      signedPreKey: { ...b.signedPreKey, createdAt: b.signedPreKey.createdAt + 1 },
    };
    await assert.rejects(processPreKeyBundle(alice.ctx, bob.address, redatedSpk, { now: 0 }), badSignature);
    const kem = b.kemPreKey;
    assert.ok(kem);
    const redatedKem: PreKeyBundle = { ...b, kemPreKey: { ...kem, createdAt: kem.createdAt + 1 } };
    await assert.rejects(processPreKeyBundle(alice.ctx, bob.address, redatedKem, { now: 0 }), badSignature);
  });
});
