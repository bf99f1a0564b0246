/**
 * A contact's account key changes under the user's feet (an operator deletes the account and
 * lets someone else register the name with new keys): nothing is encrypted to the new key
 * before the user was shown the change, the change line comes before the held message, the
 * user releases held messages deliberately (or verifies), and verifying takes the number that
 * was compared, refusing a mismatch. issue 19, items 1 and 2.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClientEvent,
  isClientError,
  type KeyChangePolicy,
  openClient,
  type ParleyClient,
  registerAccount,
} from '@parley/client';
import { toBase64Url } from '@parley/protocol';
import { collect, createWorld, forgetAccount, type TestWorld } from '../helpers/env.ts';

const untrusted = (err: unknown) => isClientError(err, 'UNTRUSTED_IDENTITY');
const mismatch = (err: unknown) => isClientError(err, 'SAFETY_NUMBER_MISMATCH');
const lines = (c: ParleyClient, peer: string) => c.history(peer).map((m) => [m.direction, m.text, m.status]);
const CHANGED = (name: string) => ['system', `${name}'s safety number changed`, 'received'];

describe('a contact’s account key is replaced by the operator', () => {
  let world: TestWorld;
  const others: ParleyClient[] = [];
  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    for (const c of others) await c.close().catch(() => {});
    await world.close();
  });

  /**
   * `victim` and `contact` talk once; then the server forgets `contact` and a new `contact`
   * registers with new keys (its client closed, so what reaches it stays in the server queue).
   */
  async function swap(victim: string, contact: string, policy?: KeyChangePolicy, verified = false) {
    const v = await world.register(victim, policy === undefined ? {} : { keyChangePolicy: policy });
    const c = await world.register(contact);
    const inbox = c.events();
    await v.sendAndWait(contact, 'before the swap');
    await collect(inbox, 1);
    if (verified) await v.markVerified(contact, (await v.safety(contact)).safetyNumber.digits);
    await c.close();
    forgetAccount(world, contact);
    const impostor = await registerAccount({
      home: world.home(`${contact}-new`),
      name: contact,
      server: world.server.url,
      receipts: false,
    });
    await impostor.close();
    const reopen = async () => {
      const again = await openClient({ home: world.home(`${contact}-new`), maxBackoffMs: 200, receipts: false });
      others.push(again);
      return again;
    };
    return { v, reopen };
  }

  const queued = (name: string) => world.server.storage.queueDepth(name, 1);

  it('default policy (hold-all): the send that discovers the change is held, the change line comes first, nothing reaches the new key', async () => {
    const { v: alice, reopen } = await swap('alice', 'bob');
    const events = alice.events();
    await assert.rejects(alice.sendAndWait('bob', 'after the swap'), untrusted);
    await assert.rejects(alice.sendAndWait('bob', 'second'), untrusted);
    assert.equal(await queued('bob'), 0, 'nothing was encrypted to the new key');
    assert.deepEqual(lines(alice, 'bob'), [
      ['out', 'before the swap', 'sent'],
      CHANGED('bob'),
      ['out', 'after the swap', 'held'],
      ['out', 'second', 'held'],
    ]);
    const seen: ClientEvent[] = [];
    const timer = setTimeout(() => void events.return?.(), 5000);
    for await (const e of events) {
      seen.push(e);
      if (seen.filter((x) => x.type === 'held').length === 2) break;
    }
    clearTimeout(timer);
    assert.deepEqual(
      seen.filter((e) => e.type === 'identity-changed'),
      [{ type: 'identity-changed', name: 'bob', verified: false }],
    );
    assert.equal(seen.filter((e) => e.type === 'held' && e.to === 'bob').length, 2);
    assert.equal((await alice.safety('bob')).changed, true);

    // The user releases them: they go out in order, to the new key.
    await alice.acceptChange('bob');
    await alice.idle();
    assert.equal(await queued('bob'), 2);
    const newBob = await reopen();
    const inbox = newBob.events();
    await newBob.connect();
    assert.deepEqual(await collect(inbox, 2), ['after the swap', 'second']);
    assert.deepEqual(
      lines(alice, 'bob').map((l) => l[2]),
      ['sent', 'received', 'sent', 'sent'],
    );
    assert.equal((await alice.safety('bob')).changed, false);
  });

  it('held messages can be discarded instead: they are never sent', async () => {
    const { v: carol, reopen } = await swap('carol', 'dan');
    await assert.rejects(carol.sendAndWait('dan', 'not for you'), untrusted);
    assert.equal(carol.discardHeld('dan'), 1);
    assert.deepEqual(lines(carol, 'dan').at(-1), ['out', 'not for you', 'failed']);
    await carol.acceptChange('dan');
    await carol.sendAndWait('dan', 'hello, new dan');
    const newDan = await reopen();
    const inbox = newDan.events();
    await newDan.connect();
    assert.deepEqual(await collect(inbox, 1), ['hello, new dan']);
  });

  it('block-verified, unverified contact: the discovering send is held and the change shown; later sends go through', async () => {
    const { v: erin, reopen } = await swap('erin', 'finn', 'block-verified');
    await assert.rejects(erin.sendAndWait('finn', 'held one'), untrusted);
    assert.equal(await queued('finn'), 0);
    await erin.sendAndWait('finn', 'after the notice');
    assert.equal(await queued('finn'), 1);
    assert.deepEqual(lines(erin, 'finn'), [
      ['out', 'before the swap', 'sent'],
      CHANGED('finn'),
      ['out', 'held one', 'held'],
      ['out', 'after the notice', 'sent'],
    ]);
    const newFinn = await reopen();
    const inbox = newFinn.events();
    await newFinn.connect();
    assert.deepEqual(await collect(inbox, 1), ['after the notice']);
    const later = newFinn.events();
    await erin.acceptChange('finn');
    assert.deepEqual(await collect(later, 1), ['held one']);
  });

  it('block-verified, verified contact: blocked until re-verified with the new number; acceptChange is refused', async () => {
    const { v: gina, reopen } = await swap('gina', 'hugo', 'block-verified', true);
    await assert.rejects(gina.sendAndWait('hugo', 'still you?'), untrusted);
    await assert.rejects(gina.sendAndWait('hugo', 'hello?'), untrusted);
    assert.equal(await queued('hugo'), 0);
    await assert.rejects(gina.acceptChange('hugo'), untrusted);
    const s = await gina.safety('hugo');
    assert.equal(s.changed, true);
    assert.equal(s.verified, true);
    await gina.markVerified('hugo', s.safetyNumber.groups.join(' '));
    await gina.idle();
    const newHugo = await reopen();
    const inbox = newHugo.events();
    await newHugo.connect();
    assert.deepEqual(await collect(inbox, 2), ['still you?', 'hello?']);
  });

  it('a change discovered while receiving: the change line comes first and the next send is held (both policies)', async () => {
    for (const policy of ['hold-all', 'block-verified'] as const) {
      const victim = policy === 'hold-all' ? 'ivan' : 'jade';
      const contact = policy === 'hold-all' ? 'kurt' : 'lena';
      const { v, reopen } = await swap(victim, contact, policy);
      const newContact = await reopen();
      await newContact.connect();
      const events = v.events();
      await newContact.sendAndWait(victim, 'hi, new phone');
      const timer = setTimeout(() => void events.return?.(), 10_000);
      for await (const e of events) if (e.type === 'identity-changed') break;
      clearTimeout(timer);
      await v.idle();
      if (policy === 'block-verified') {
        // Shown after the change line (Signal's rule for an unverified contact)…
        assert.deepEqual(lines(v, contact).slice(1), [CHANGED(contact), ['in', 'hi, new phone', 'received']]);
      } else {
        // …or held, undecrypted, until the user accepts.
        assert.deepEqual(lines(v, contact).slice(1), [CHANGED(contact)]);
      }
      const inbox = newContact.events();
      await assert.rejects(v.sendAndWait(contact, 'reply'), untrusted, policy);
      await v.acceptChange(contact);
      assert.deepEqual(await collect(inbox, 1), ['reply']);
      assert.deepEqual(lines(v, contact).slice(1, 2), [CHANGED(contact)]);
      assert.ok(v.history(contact).some((m) => m.text === 'hi, new phone'));
    }
  });
});

describe('verifying takes the safety number that was compared', () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => world.close());

  it('a wrong number is refused and nothing is marked verified; the right one (digits or QR payload) is taken', async () => {
    const alice = await world.register('alice');
    const bob = await world.register('bob');
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'hi');
    await collect(inbox, 1);
    const s = await alice.safety('bob');
    const wrong = `${s.safetyNumber.digits.slice(0, 59)}${(Number(s.safetyNumber.digits.at(-1)) + 1) % 10}`;
    await assert.rejects(alice.markVerified('bob', wrong), mismatch);
    await assert.rejects(alice.markVerified('bob', 'not a number'), mismatch);
    assert.equal((await alice.safety('bob')).verified, false);
    await alice.markVerified('bob', toBase64Url(s.safetyNumber.qrPayload));
    assert.equal((await alice.safety('bob')).verified, true);
    const carol = await world.register('carol');
    await bob.markVerified('alice', s.safetyNumber.groups.join(' '));
    await assert.rejects(carol.markVerified('bob', s.safetyNumber.digits), mismatch);
  });

  it('a key adopted while receiving is not verified with the number compared before; the change since it was shown is reported', async () => {
    const mia = await world.register('mia', { keyChangePolicy: 'block-verified' });
    const ned = await world.register('ned');
    const inbox = ned.events();
    await mia.sendAndWait('ned', 'hi');
    await collect(inbox, 1);
    const shown = await mia.safety('ned', { show: true });
    assert.equal(shown.changedSinceShown, false);
    await ned.close();
    forgetAccount(world, 'ned');
    const newNed = await registerAccount({ home: world.home('ned-new'), name: 'ned', server: world.server.url });
    try {
      const events = mia.events();
      await newNed.sendAndWait('mia', 'new ned here');
      const timer = setTimeout(() => void events.return?.(), 10_000);
      for await (const e of events) if (e.type === 'message') break;
      clearTimeout(timer);
      const now = await mia.safety('ned', { show: true });
      assert.equal(now.changedSinceShown, true);
      assert.notEqual(now.safetyNumber.digits, shown.safetyNumber.digits);
      await assert.rejects(mia.markVerified('ned', shown.safetyNumber.digits), mismatch);
      assert.equal((await mia.safety('ned')).verified, false);
      // Shown now: the next look says nothing changed since.
      assert.equal((await mia.safety('ned', { show: true })).changedSinceShown, false);
    } finally {
      await newNed.close();
    }
  });
});
