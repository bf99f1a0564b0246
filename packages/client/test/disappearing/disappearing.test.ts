import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClientEvent,
  decodeContent,
  encodeContent,
  groupPeer,
  isClientError,
  type ParleyClient,
} from '@parley/client';
import { createWorld, type TestWorld } from '../helpers/env.ts';

/** Waits for the next event of `type` matching `match`, leaving the iterator open for more. */
async function nextEvent<T extends ClientEvent['type']>(
  events: AsyncIterableIterator<ClientEvent>,
  type: T,
  match: (e: Extract<ClientEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<ClientEvent, { type: T }>> {
  for (;;) {
    const r = await events.next();
    if (r.done) throw new Error(`no ${type} event`);
    const e = r.value;
    if (e.type === type && match(e as Extract<ClientEvent, { type: T }>)) return e as Extract<ClientEvent, { type: T }>;
  }
}

const MINUTE = 60_000;

// Each client runs on its own injected clock, moved forward by the test: no sleeps.
describe('disappearing messages', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let bob: ParleyClient;
  let aliceNow = Date.now();
  let bobNow = Date.now() + 7_000; // the two clocks need not agree: each device counts from its own
  let bobEvents: AsyncIterableIterator<ClientEvent>;

  before(async () => {
    world = await createWorld();
    alice = await world.register('alice', { clock: () => aliceNow });
    bob = await world.register('bob', { clock: () => bobNow });
    bobEvents = bob.events();
  });
  after(async () => {
    await bobEvents.return?.();
    await alice.close();
    await bob.close();
    await world.close();
  });

  it('a timer set by one side reaches the other as a system line', async () => {
    await alice.setTimer('bob', 300);
    const e = await nextEvent(bobEvents, 'timer');
    assert.deepEqual([e.peer, e.seconds, e.by], ['alice', 300, 'alice']);
    assert.equal(bob.timer('alice'), 300);
    assert.equal(alice.timer('bob'), 300);
    for (const [c, peer] of [
      [alice, 'bob'],
      [bob, 'alice'],
    ] as const) {
      const line = c.history(peer).at(-1);
      assert.deepEqual([line?.direction, line?.text], ['system', 'alice set disappearing messages to 5 minutes']);
    }
  });

  it('a message goes from history and search on each device one timer after that device stored it', async () => {
    const { id } = await alice.sendAndWait('bob', 'the vanishing heron');
    await nextEvent(bobEvents, 'message', (e) => e.message.id === id);
    assert.equal(bob.search('heron').length, 1);
    assert.equal(alice.search('heron').length, 1);

    bobNow += 5 * MINUTE - 1;
    assert.ok(
      bob.history('alice').some((m) => m.id === id),
      'still there a millisecond before',
    );
    bobNow += 1;
    assert.ok(!bob.history('alice').some((m) => m.id === id), 'gone on the receiving device');
    assert.deepEqual(bob.search('heron'), []);
    const expired = await nextEvent(bobEvents, 'expired');
    assert.deepEqual([expired.peer, expired.ids], ['alice', [id]]);
    // The timer line stays: only the messages disappear.
    assert.equal(bob.history('alice').at(-1)?.direction, 'system');

    assert.ok(
      alice.history('bob').some((m) => m.id === id),
      "the sender's clock has not moved",
    );
    aliceNow += 5 * MINUTE;
    assert.ok(!alice.history('bob').some((m) => m.id === id), 'gone on the sending device');
    assert.deepEqual(alice.search('heron'), []);
  });

  it('refuses a timer that is not one of the choices, changing nothing', async () => {
    for (const bad of [0, 1, 60, 301, 3600.5, -300, Number.NaN, 2419201]) {
      await assert.rejects(alice.setTimer('bob', bad), (err) => isClientError(err) && err.code === 'INVALID_ARGUMENT');
    }
    assert.equal(alice.timer('bob'), 300);
    assert.equal(alice.history('bob').filter((m) => m.direction === 'system').length, 1);
  });

  it('off: later messages stay', async () => {
    await alice.setTimer('bob', null);
    const e = await nextEvent(bobEvents, 'timer');
    assert.equal(e.seconds, undefined);
    assert.equal(bob.timer('alice'), null);
    assert.equal(bob.history('alice').at(-1)?.text, 'alice set disappearing messages to off');
    const { id } = await alice.sendAndWait('bob', 'this one stays');
    await nextEvent(bobEvents, 'message', (m) => m.message.id === id);
    bobNow += 60 * MINUTE;
    aliceNow += 60 * MINUTE;
    assert.ok(bob.history('alice').some((m) => m.id === id));
    assert.ok(alice.history('bob').some((m) => m.id === id));
  });

  it('in a group: set by a member, carried by every message, deleted on every member', async () => {
    const { id: groupId } = await alice.createGroup('Birds', ['bob']);
    await nextEvent(bobEvents, 'group-joined');
    await bob.setTimer({ group: groupId }, 3600);
    const e = await nextEvent(alice.events(), 'timer');
    assert.deepEqual([e.peer, e.seconds, e.by], [groupPeer(groupId), 3600, 'bob']);
    assert.equal(alice.timer({ group: groupId }), 3600);
    const { id } = await alice.sendToGroup(groupId, 'group heron');
    await nextEvent(bobEvents, 'message', (m) => m.message.id === id);
    bobNow += 60 * MINUTE;
    assert.ok(!bob.history(groupPeer(groupId)).some((m) => m.id === id));
    aliceNow += 60 * MINUTE;
    assert.ok(!alice.history(groupPeer(groupId)).some((m) => m.id === id));
    assert.match(
      bob
        .history(groupPeer(groupId))
        .map((m) => m.text)
        .join('\n'),
      /bob set disappearing messages to 1 hour/,
    );
  });
});

describe('the timer field in content', () => {
  const base = { v: 1 as const, id: 'abcdefgh12', ts: 1, text: 'x' };
  it('accepts the timers, and refuses any other value as malformed content', () => {
    assert.equal(decodeContent(encodeContent({ ...base, exp: 300 }))?.exp, 300);
    assert.equal(decodeContent(encodeContent({ ...base, exp: 2419200 }))?.exp, 2419200);
    for (const exp of [0, 60, 299, 2419201, -1, 1.5]) {
      assert.equal(decodeContent(encodeContent({ ...base, exp })), undefined, `exp ${exp}`);
    }
    // A timer change says 0 for off, and must say something.
    assert.equal(decodeContent(encodeContent({ ...base, text: '', ctl: 'timer', exp: 0 }))?.exp, 0);
    assert.equal(decodeContent(encodeContent({ ...base, text: '', ctl: 'timer' })), undefined);
    assert.equal(decodeContent(encodeContent({ ...base, text: '', ctl: 'timer', exp: 7 })), undefined);
  });
});
