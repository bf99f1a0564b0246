/**
 * Issue 19 item 4: a one-time copy of a device's home must stop reading once the device has
 * healed and rotated its signed keys. The copy authenticates as the device and sends retry
 * requests; the sender rebuilds the session from a bundle whose keys the copy no longer holds,
 * honours one request per message, says "session restarted at X's request", and the server
 * tells both connections that the device's key is in use elsewhere. Time is an injected clock.
 */
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type ClientEvent, openClient, type ParleyClient } from '@parley/client';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';

const DAY = 24 * 3600 * 1000;

/** Reads events until `done` says so (or the bound passes); returns everything seen. */
async function eventsUntil(
  events: AsyncIterableIterator<ClientEvent>,
  done: (seen: readonly ClientEvent[]) => boolean,
  timeoutMs = 15_000,
): Promise<ClientEvent[]> {
  const seen: ClientEvent[] = [];
  const timer = setTimeout(() => void events.return?.(), timeoutMs);
  try {
    for await (const e of events) {
      seen.push(e);
      if (done(seen)) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

const texts = (seen: readonly ClientEvent[]): string[] =>
  seen.flatMap((e) => (e.type === 'message' && e.message.direction !== 'system' ? [e.message.text] : []));

describe('a copied home after the device healed (issue 19 item 4)', () => {
  let world: TestWorld;
  let now = Date.parse('2026-06-01T00:00:00Z');
  const clock = () => now;
  let alice: ParleyClient;
  let bob: ParleyClient;

  const open = async (home: string, at: () => number = clock): Promise<ParleyClient> => {
    const c = await openClient({ home: world.home(home), clock: at, maxBackoffMs: 200 });
    await c.connect();
    return c;
  };
  const roundTrip = async (text: string): Promise<void> => {
    const toBob = bob.events();
    await alice.sendAndWait('bob', `${text} (to bob)`);
    await collect(toBob, 1);
    const toAlice = alice.events();
    await bob.sendAndWait('alice', `${text} (to alice)`);
    await collect(toAlice, 1);
  };

  before(async () => {
    world = await createWorld();
    alice = await world.register('alice', { clock });
    bob = await world.register('bob', { clock });
    await roundTrip('before the copy');
  });
  after(async () => {
    await world.close();
  });

  it('the copy reads nothing new by retry requests, the request is honoured once, and both connections hear of it', async () => {
    // The copy: bob's home as it is on disk now (closed first, so the file is whole).
    await bob.close();
    cpSync(world.home('bob'), world.home('bob-copy'), { recursive: true });
    // The copy keeps its clock at the moment of the copy, so it publishes no prekeys of its own:
    // it only reads and asks. (Publishing keys signed with the stolen identity is impersonation
    // that only removing the device ends; the key-in-use notice below is what reveals it.)
    const copiedAt = now;
    bob = await open('bob');

    // The real device heals: two full round trips move both ratchets past what the copy holds.
    await roundTrip('heal 1');
    await roundTrip('heal 2');

    // Two days and an hour later the real device connects again and rotates its signed keys.
    now += 2 * DAY + 3600 * 1000;
    await bob.close();
    bob = await open('bob');
    await bob.idle();

    // The copy connects as bob's device while the real one is connected.
    const bobEvents = bob.events();
    const copy = await openClient({ home: world.home('bob-copy'), clock: () => copiedAt, maxBackoffMs: 200 });
    const copyEvents = copy.events();
    await copy.connect();
    const aliceEvents = alice.events();
    const real = await eventsUntil(bobEvents, (seen) => seen.some((e) => e.type === 'key-in-use'));

    // alice writes to bob; only the copy is connected as bob's device now.
    await alice.sendAndWait('bob', 'secret after healing');
    const seenByCopy = await eventsUntil(
      copyEvents,
      (seen) =>
        texts(seen).includes('secret after healing') || seen.filter((e) => e.type === 'undecryptable').length >= 2,
    );
    await alice.idle();
    await copy.idle();
    await alice.idle();

    assert.ok(!texts(seenByCopy).includes('secret after healing'), 'the copy read a message sent after healing');
    assert.ok(
      !copy.history('alice', 100).some((m) => m.text === 'secret after healing'),
      'the copy stored the message sent after healing',
    );

    // One restart at the copy's request, said on alice's side; the second request was not honoured.
    const seenByAlice = await eventsUntil(aliceEvents, (seen) => seen.some((e) => e.type === 'session-restarted'));
    assert.deepEqual(
      seenByAlice.filter((e) => e.type === 'session-restarted'),
      [{ type: 'session-restarted', peer: 'bob', device: 1, requestedBy: 'bob', by: 'them' }],
    );
    assert.equal(
      alice.history('bob', 100).filter((m) => m.direction === 'system' && m.text.includes("restarted at bob's request"))
        .length,
      1,
    );
    assert.equal(
      seenByCopy.filter((e) => e.type === 'undecryptable').length,
      2,
      'the copy could not read the resent message either',
    );

    // Both connections of bob's device were told its key is in use elsewhere.
    assert.ok(
      real.some((e) => e.type === 'key-in-use' && e.device === 1 && e.thisDevice),
      'the real device was told its key is in use elsewhere',
    );
    assert.ok(
      seenByCopy.some((e) => e.type === 'key-in-use' && e.device === 1),
      'the new connection was told too',
    );
    await copy.close();
  });

  it("a copy and the device connecting in turn (never at once) are each told, and so is the account's other device", async () => {
    const carol = await world.register('carol', { clock });
    const carol2 = await world.link(carol, 'carol2');
    await carol.close();
    cpSync(world.home('carol'), world.home('carol-copy'), { recursive: true });
    // The real device connects once more (its connection token moves on), then goes offline.
    const again = await open('carol');
    await again.close();

    const otherDevice = carol2.events();
    const copy = await openClient({ home: world.home('carol-copy'), clock, maxBackoffMs: 200 });
    const copyEvents = copy.events();
    await copy.connect();
    const toCopy = await eventsUntil(copyEvents, (seen) => seen.some((e) => e.type === 'key-in-use'));
    const toOther = await eventsUntil(otherDevice, (seen) => seen.some((e) => e.type === 'key-in-use'));
    await copy.close();
    assert.ok(toCopy.some((e) => e.type === 'key-in-use' && e.device === 1 && e.thisDevice));
    assert.ok(toOther.some((e) => e.type === 'key-in-use' && e.device === 1 && !e.thisDevice));

    // The real device, next time it connects, is told as well: the copy's connection moved the token on.
    const real = await openClient({ home: world.home('carol'), clock, maxBackoffMs: 200 });
    const realEvents = real.events();
    await real.connect();
    const toReal = await eventsUntil(realEvents, (seen) => seen.some((e) => e.type === 'key-in-use'));
    assert.ok(toReal.some((e) => e.type === 'key-in-use' && e.device === 1 && e.thisDevice));
    await real.close();
  });
});
