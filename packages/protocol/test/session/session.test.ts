import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createMemoryIdentityStore,
  decodeInitialMessage,
  decodePreKeyBundle,
  decrypt,
  encodeInitialMessage,
  encodePreKeyBundle,
  encrypt,
  isProtocolError,
  type ProtocolErrorCode,
  processPreKeyBundle,
} from '../../src/index.ts';
import { bundleOf, createParty, type Party, snapshot, str, text, wireBundleOf } from '../helpers/parties.ts';

async function connected(): Promise<{ alice: Party; bob: Party }> {
  const alice = await createParty('alice');
  const bob = await createParty('bob');
  await processPreKeyBundle(alice.ctx, bob.address, await wireBundleOf(bob), { now: 0 });
  return { alice, bob };
}

async function send(from: Party, to: Party, message: string): Promise<Uint8Array> {
  return (await encrypt(from.ctx, to.address, text(message))).body;
}

async function receive(to: Party, from: Party, body: Uint8Array): Promise<string> {
  return str(await decrypt(to.ctx, from.address, body));
}

async function rejects(p: Promise<unknown>, code: ProtocolErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isProtocolError(err), `expected ProtocolError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** Asserts that `fn` fails with `code` and leaves every store of `party` byte-identical. */
async function rejectsUnchanged(party: Party, fn: () => Promise<unknown>, code: ProtocolErrorCode): Promise<void> {
  const before = snapshot(party);
  await rejects(fn(), code);
  assert.deepEqual(snapshot(party), before);
}

describe('sessions', () => {
  it('encrypts and decrypts with one peer at the same moment without losing either update', async () => {
    // A client's inbox decrypts a delivery while its outbox encrypts to the same device: each
    // loads the session record, awaits, and stores it. Before, the later store won, the next
    // encryption reused a sending counter the peer had consumed, and the peer dropped it as a
    // duplicate (an acknowledged message lost: the crash-loop soak, docs/reliability.md).
    const { alice, bob } = await connected();
    assert.equal(await receive(bob, alice, await send(alice, bob, 'hello')), 'hello');
    assert.equal(await receive(alice, bob, await send(bob, alice, 'hi')), 'hi');
    const fromBob = await send(bob, alice, 'while you write');
    const [, first] = await Promise.all([receive(alice, bob, fromBob), encrypt(alice.ctx, bob.address, text('first'))]);
    const second = await send(alice, bob, 'second');
    assert.equal(await receive(bob, alice, first.body), 'first');
    assert.equal(await receive(bob, alice, second), 'second');
  });

  it('round-trips both ways, starting with an initial message then ratchet messages', async () => {
    const { alice, bob } = await connected();
    const first = await encrypt(alice.ctx, bob.address, text('hello bob'));
    assert.equal(first.type, 'initial');
    assert.equal(await receive(bob, alice, first.body), 'hello bob');
    const reply = await encrypt(bob.ctx, alice.address, text('hello alice'));
    assert.equal(reply.type, 'ratchet');
    assert.equal(await receive(alice, bob, reply.body), 'hello alice');
    const next = await encrypt(alice.ctx, bob.address, text('after reply'));
    assert.equal(next.type, 'ratchet', 'initiator stops wrapping once a reply decrypts');
    assert.equal(await receive(bob, alice, next.body), 'after reply');
  });

  it('keeps a long conversation with alternating turns and one-sided bursts', async () => {
    const { alice, bob } = await connected();
    assert.equal(await receive(bob, alice, await send(alice, bob, 'start')), 'start');
    let n = 0;
    for (const [burstA, burstB] of [
      [1, 1],
      [5, 0],
      [0, 7],
      [3, 3],
      [20, 1],
      [1, 20],
    ] as const) {
      for (let i = 0; i < burstA; i++)
        assert.equal(await receive(bob, alice, await send(alice, bob, `a${n}`)), `a${n++}`);
      for (let i = 0; i < burstB; i++)
        assert.equal(await receive(alice, bob, await send(bob, alice, `b${n}`)), `b${n++}`);
    }
  });

  it('decrypts out-of-order messages once each and rejects duplicates', async () => {
    const { alice, bob } = await connected();
    const bodies: Uint8Array[] = [];
    for (let i = 0; i < 5; i++) bodies.push(await send(alice, bob, `m${i}`));
    for (const i of [3, 0, 4, 1, 2]) assert.equal(await receive(bob, alice, bodies[i]!), `m${i}`);
    for (const i of [0, 3])
      await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, bodies[i]!), 'DUPLICATE_MESSAGE');
  });

  it('rejects a message from a finished chain as a duplicate', async () => {
    const { alice, bob } = await connected();
    const old = await send(alice, bob, 'old');
    await receive(bob, alice, old);
    await receive(alice, bob, await send(bob, alice, 'turn'));
    await receive(bob, alice, await send(alice, bob, 'new chain'));
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, old), 'DUPLICATE_MESSAGE');
  });

  it('refuses to skip more than 2,000 keys, then keeps working for in-bound messages', async () => {
    const { alice, bob } = await connected();
    await receive(bob, alice, await send(alice, bob, 'first'));
    await receive(alice, bob, await send(bob, alice, 'reply'));
    let mid: Uint8Array | undefined;
    for (let i = 0; i < 2001; i++) {
      const body = await send(alice, bob, `n${i}`);
      if (i === 1000) mid = body;
    }
    const far = await send(alice, bob, 'too far');
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, far), 'TOO_MANY_SKIPPED_MESSAGES');
    assert.equal(await receive(bob, alice, mid!), 'n1000');
    // Now within the bound of the advanced chain, the far message decrypts too.
    assert.equal(await receive(bob, alice, far), 'too far');
    assert.equal(await receive(alice, bob, await send(bob, alice, 'still here')), 'still here');
    const stored = (await bob.sessionStore.loadSession(alice.address))?.current?.skippedKeys.length ?? 0;
    assert.ok(stored <= 2000, `stored ${stored} skipped keys`);
  });

  it('bounds stored skipped keys across chains to 2,000, discarding the oldest', async () => {
    const { alice, bob } = await connected();
    await receive(bob, alice, await send(alice, bob, 'first'));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 900; i++) await encrypt(alice.ctx, bob.address, text('skipped'));
      await receive(bob, alice, await send(alice, bob, `round ${round}`));
      await receive(alice, bob, await send(bob, alice, `ack ${round}`));
    }
    const stored = (await bob.sessionStore.loadSession(alice.address))?.current?.skippedKeys.length;
    assert.equal(stored, 2000);
  });

  it('forgets message keys once used (forward secrecy)', async () => {
    const { alice, bob } = await connected();
    await receive(bob, alice, await send(alice, bob, 'hello'));
    const secret = await send(alice, bob, 'secret');
    await receive(bob, alice, secret);
    // A thief who copies Bob's stores now cannot decrypt the message again.
    await rejects(decrypt(bob.ctx, alice.address, secret), 'DUPLICATE_MESSAGE');
    const rec = await bob.sessionStore.loadSession(alice.address);
    assert.equal(rec?.current?.skippedKeys.length, 0);
  });

  it('heals after compromise: a copy of Bob state cannot decrypt after a round trip', async () => {
    const { alice, bob } = await connected();
    await receive(bob, alice, await send(alice, bob, 'hello'));
    const stolen = await createParty('bob');
    const thiefIdentity = createMemoryIdentityStore(bob.identity);
    thiefIdentity.trust(alice.address, alice.identity.publicIdentity);
    const stolenRecord = await bob.sessionStore.loadSession(alice.address);
    assert.ok(stolenRecord);
    await stolen.sessionStore.storeSession(alice.address, stolenRecord);
    const thiefCtx = { ...stolen.ctx, identityStore: thiefIdentity };
    // The thief follows the conversation passively, decrypting whatever it still can.
    const thiefSees = async (body: Uint8Array) => decrypt(thiefCtx, alice.address, body).then(str, () => undefined);
    const early = await send(alice, bob, 'before healing');
    assert.equal(await thiefSees(early), 'before healing', 'compromise is real before healing');
    await receive(bob, alice, early);
    // One round trip of new DH ratchet steps: Bob's fresh ratchet key is unknown to the thief.
    const t1 = await send(bob, alice, 'turn 1');
    await receive(alice, bob, t1);
    const t2 = await send(alice, bob, 'turn 2');
    await thiefSees(t2);
    await receive(bob, alice, t2);
    const t3 = await send(bob, alice, 'turn 3');
    assert.equal(await thiefSees(t3), undefined);
    await receive(alice, bob, t3);
    const late = await send(alice, bob, 'after healing');
    assert.equal(await thiefSees(late), undefined);
    assert.equal(await receive(bob, alice, late), 'after healing');
  });

  it('rejects tampered bytes anywhere in a ratchet message and stays usable', async () => {
    const { alice, bob } = await connected();
    await receive(bob, alice, await send(alice, bob, 'hello'));
    await receive(alice, bob, await send(bob, alice, 'reply'));
    const body = await send(alice, bob, 'precious');
    for (let i = 0; i < body.length; i++) {
      const bad = body.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      const before = snapshot(bob);
      await assert.rejects(decrypt(bob.ctx, alice.address, bad), (err: unknown) => isProtocolError(err));
      assert.deepEqual(snapshot(bob), before, `flip at ${i} changed stores`);
    }
    await rejectsUnchanged(
      bob,
      () => decrypt(bob.ctx, alice.address, body.subarray(0, body.length - 1)),
      'MALFORMED_MESSAGE',
    );
    const extended = new Uint8Array([...body, 0]);
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, extended), 'MALFORMED_MESSAGE');
    const version = body.slice();
    version[0] = 2;
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, version), 'UNKNOWN_VERSION');
    assert.equal(await receive(bob, alice, body), 'precious');
  });

  it('rejects a bundle with a forged signed prekey, identity binding or KEM prekey', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    const good = await bundleOf(bob);
    const flip = (b: Uint8Array) => {
      const c = b.slice();
      c[5] = (c[5] as number) ^ 0x40;
      return c;
    };
    const spk = { ...good, signedPreKey: { ...good.signedPreKey, signature: flip(good.signedPreKey.signature) } };
    const kem = { ...good, kemPreKey: { ...good.kemPreKey!, signature: flip(good.kemPreKey!.signature) } };
    const flag = { ...good, kemPreKey: { ...good.kemPreKey!, lastResort: true } };
    const identity = good.identity.slice();
    identity[100] = (identity[100] as number) ^ 0x01;
    for (const bundle of [spk, kem, flag, { ...good, identity }]) {
      await rejectsUnchanged(
        alice,
        () => processPreKeyBundle(alice.ctx, bob.address, bundle, { now: 0 }),
        'INVALID_SIGNATURE',
      );
    }
  });

  it('refuses a bundle without a post-quantum prekey (no downgrade)', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    const { kemPreKey: _dropped, ...classical } = await bundleOf(bob);
    const wire = encodePreKeyBundle(classical);
    assert.equal(decodePreKeyBundle(wire).kemPreKey, undefined);
    await rejectsUnchanged(
      alice,
      () => processPreKeyBundle(alice.ctx, bob.address, wire, { now: 0 }),
      'MISSING_PQ_PREKEY',
    );
  });

  it('refuses a low-order X25519 key in a bundle and in an initial message', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    const good = await bundleOf(bob);
    const zeroOtp = { ...good, oneTimePreKey: { id: good.oneTimePreKey!.id, publicKey: new Uint8Array(32) } };
    await rejectsUnchanged(
      alice,
      () => processPreKeyBundle(alice.ctx, bob.address, zeroOtp, { now: 0 }),
      'INVALID_KEY',
    );

    await processPreKeyBundle(alice.ctx, bob.address, good, { now: 0 });
    const initial = decodeInitialMessage((await encrypt(alice.ctx, bob.address, text('x'))).body);
    const lowOrder = new Uint8Array(32);
    lowOrder[0] = 1;
    const bad = encodeInitialMessage({ ...initial, baseKey: lowOrder });
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, bad), 'INVALID_KEY');
  });

  it('rejects a tampered ML-KEM ciphertext (implicit rejection → decryption failure)', async () => {
    const { alice, bob } = await connected();
    const initial = decodeInitialMessage((await encrypt(alice.ctx, bob.address, text('pq'))).body);
    const ct = initial.kemCiphertext.slice();
    ct[10] = (ct[10] as number) ^ 0x01;
    const bad = encodeInitialMessage({ ...initial, kemCiphertext: ct });
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, bad), 'DECRYPTION_FAILED');
    assert.equal(await receive(bob, alice, encodeInitialMessage(initial)), 'pq');
  });

  it('rejects an initial message addressed to another device', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    const carol = await createParty('carol');
    await processPreKeyBundle(alice.ctx, bob.address, await wireBundleOf(bob), { now: 0 });
    const body = await send(alice, bob, 'for bob');
    await rejectsUnchanged(carol, () => decrypt(carol.ctx, alice.address, body), 'WRONG_RECIPIENT');
  });

  it('rejects an initial message from an identity other than the trusted one', async () => {
    const { alice, bob } = await connected();
    await receive(bob, alice, await send(alice, bob, 'hi'));
    const mallory = await createParty('alice');
    await processPreKeyBundle(mallory.ctx, bob.address, await wireBundleOf(bob), { now: 0 });
    const forged = await send(mallory, bob, 'I am alice');
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, forged), 'UNTRUSTED_IDENTITY');
  });

  it('refuses to start a session with a changed, untrusted identity', async () => {
    const { alice, bob } = await connected();
    const newBob = await createParty('bob');
    await rejectsUnchanged(
      alice,
      async () => processPreKeyBundle(alice.ctx, bob.address, await bundleOf(newBob), { now: 0 }),
      'UNTRUSTED_IDENTITY',
    );
    alice.identityStore.trust(bob.address, newBob.identity.publicIdentity);
    await processPreKeyBundle(alice.ctx, bob.address, await bundleOf(newBob), { now: 0 });
    assert.equal(await receive(newBob, alice, await send(alice, bob, 'accepted')), 'accepted');
  });

  it('consumes a one-time prekey once: a second session on it is refused', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    const bundle = await wireBundleOf(bob);
    await processPreKeyBundle(alice.ctx, bob.address, bundle, { now: 0 });
    assert.equal(await receive(bob, alice, await send(alice, bob, 'one')), 'one');
    // A second initiator (another device of Alice's) reuses the same bundle.
    const alice2 = await createParty('alice', 2);
    await processPreKeyBundle(alice2.ctx, bob.address, bundle, { now: 0 });
    const again = await send(alice2, bob, 'two');
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice2.address, again), 'UNKNOWN_PREKEY');
  });

  it('uses the last-resort KEM prekey when one-time stock is gone, and refuses its replay', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    await processPreKeyBundle(alice.ctx, bob.address, await wireBundleOf(bob, { lastResort: true }), { now: 0 });
    const first = await send(alice, bob, 'via last resort');
    assert.equal(decodeInitialMessage(first).oneTimePreKeyId, undefined);
    assert.equal(await receive(bob, alice, first), 'via last resort');
    // The session is lost (e.g. restore); a replayed initial message must not open a new one.
    bob.sessionStore.delete(alice.address);
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, first), 'REPLAYED_INITIAL_MESSAGE');
  });

  it('treats repeats of the unanswered initial messages as the same session', async () => {
    const { alice, bob } = await connected();
    const m1 = await send(alice, bob, 'one');
    const m2 = await send(alice, bob, 'two');
    assert.equal(await receive(bob, alice, m2), 'two');
    assert.equal(await receive(bob, alice, m1), 'one');
    await rejectsUnchanged(bob, () => decrypt(bob.ctx, alice.address, m2), 'DUPLICATE_MESSAGE');
  });

  it('does not mutate its inputs', async () => {
    const { alice, bob } = await connected();
    const plaintext = text('immutable');
    const copy = plaintext.slice();
    const body = await send(alice, bob, 'x');
    const bodyCopy = body.slice();
    await encrypt(alice.ctx, bob.address, plaintext);
    await decrypt(bob.ctx, alice.address, body);
    assert.deepEqual(plaintext, copy);
    assert.deepEqual(body, bodyCopy);
  });
});
