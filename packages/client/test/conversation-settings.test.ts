import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClientEvent, isClientError, type ParleyClient, registerAccount } from '@parley/client';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';

/** The next event of `type` matching `match` from an open iterator (throws after 15 s without one). */
async function nextEvent<T extends ClientEvent['type']>(
  events: AsyncIterableIterator<ClientEvent>,
  type: T,
  match: (e: Extract<ClientEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<ClientEvent, { type: T }>> {
  // next() rather than for-await: leaving a for-await loop would end the iterator.
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), 15_000);
    });
    const r = await Promise.race([events.next(), timeout]);
    clearTimeout(timer);
    if (r === 'timeout' || r.done) throw new Error(`no ${type} event`);
    const e = r.value;
    if (e.type === type && match(e as Extract<ClientEvent, { type: T }>)) return e as Extract<ClientEvent, { type: T }>;
  }
}

describe('conversation settings: archive, mute, pin, forget, block', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let bob: ParleyClient;
  let carol: ParleyClient;
  // Receipts on: blocking must also stop the delivery receipts the sender would otherwise get.
  const withReceipts = (name: string) =>
    registerAccount({ home: world.home(name), name, server: world.server.url, receipts: true, maxBackoffMs: 200 });

  before(async () => {
    world = await createWorld();
    alice = await withReceipts('alice');
    bob = await withReceipts('bob');
    carol = await withReceipts('carol');
    const inbox = alice.events();
    await bob.sendAndWait('alice', 'hi from bob');
    await carol.sendAndWait('alice', 'hi from carol');
    await collect(inbox, 2);
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await carol.close();
    await world.close();
  });

  it('archives, mutes and pins; pinned conversations come first; each change is an event', async () => {
    const events = alice.events();
    // Most recent first: carol, then bob.
    assert.deepEqual(
      alice.conversations().map((c) => c.peer),
      ['carol', 'bob'],
    );
    alice.setPinned('bob', true);
    assert.deepEqual((await nextEvent(events, 'conversation-changed')).change, 'pinned');
    alice.setMuted('carol', true);
    alice.setArchived('carol', true);
    const list = alice.conversations();
    assert.deepEqual(
      list.map((c) => [c.peer, c.pinned, c.muted, c.archived]),
      [
        ['bob', true, false, false],
        ['carol', false, true, true],
      ],
    );
    // Setting a flag to what it already is changes nothing and says nothing.
    alice.setMuted('carol', true);
    alice.setArchived('carol', false);
    alice.setMuted('carol', false);
    alice.setPinned('bob', false);
    const changes: string[] = [];
    for (let i = 0; i < 5; i++) changes.push((await nextEvent(events, 'conversation-changed')).change);
    assert.deepEqual(changes, ['muted', 'archived', 'unarchived', 'unmuted', 'unpinned']);
    await events.return?.();
    assert.deepEqual(
      alice.conversations().map((c) => [c.peer, c.pinned, c.muted, c.archived]),
      [
        ['carol', false, false, false],
        ['bob', false, false, false],
      ],
    );
    assert.throws(
      () => alice.setMuted('not a name!', true),
      (e) => isClientError(e, 'INVALID_ARGUMENT'),
    );
  });

  it('forgets a typo conversation: its lines and queued messages go, other conversations stay', async () => {
    await assert.rejects(alice.sendAndWait('bobby', 'typo'));
    assert.ok(alice.conversations().some((c) => c.peer === 'bobby'));
    alice.setPinned('bobby', true);
    assert.equal(alice.forgetConversation('bobby'), 1);
    assert.deepEqual(alice.history('bobby'), []);
    assert.ok(!alice.conversations().some((c) => c.peer === 'bobby'));
    assert.deepEqual(
      alice.conversations().map((c) => c.peer),
      ['carol', 'bob'],
    );
    assert.throws(
      () => alice.forgetConversation('bobby'),
      (e) => isClientError(e, 'INVALID_ARGUMENT'),
    );
  });

  it('drops a blocked contact’s messages on receipt and sends them no receipt; unblock restores both', async () => {
    alice.block('bob');
    assert.deepEqual(alice.blocked(), ['bob']);
    assert.equal(alice.conversations().find((c) => c.peer === 'bob')?.blocked, true);
    await assert.rejects(alice.send('bob', 'no'), (e) => isClientError(e, 'BLOCKED'));
    const bobEvents = bob.events();
    const { id: dropped } = await bob.sendAndWait('alice', 'while blocked');
    const aliceInbox = alice.events();
    const before = alice.history('bob').length;
    // Wait until the server has delivered the first one to alice and she handled it: a marker from carol,
    // sent after it, arrives after it on the same connection.
    await carol.sendAndWait('alice', 'marker');
    assert.deepEqual(await collect(aliceInbox, 1), ['marker']);
    await alice.idle();
    assert.equal(alice.history('bob').length, before, 'nothing stored from a blocked contact');
    alice.unblock('bob');
    const aliceInbox2 = alice.events();
    const { id: kept } = await bob.sendAndWait('alice', 'after unblock');
    assert.deepEqual(await collect(aliceInbox2, 1), ['after unblock']);
    const receipt = await nextEvent(bobEvents, 'receipt', (e) => e.ids.includes(kept));
    assert.equal(receipt.status, 'delivered');
    await bob.idle();
    // The sender's view: the message sent while blocked never got a delivery receipt.
    const bobHistory = bob.history('alice');
    assert.equal(bobHistory.find((m) => m.id === dropped)?.status, 'sent');
    assert.equal(bobHistory.find((m) => m.id === kept)?.status, 'delivered');
    assert.deepEqual(
      alice.history('bob').map((m) => m.text),
      ['hi from bob', 'after unblock'],
    );
    assert.deepEqual(alice.blocked(), []);
  });
});
