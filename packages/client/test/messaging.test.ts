import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openClient } from '@parley/client';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';

describe('one-to-one messaging through a real relay', () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    await world.close();
  });

  it('two clients in separate homes exchange messages both ways', async () => {
    const alice = await world.register('alice');
    const bob = await world.register('bob');
    const bobInbox = bob.events();
    await alice.sendAndWait('bob', 'hello bob');
    await alice.sendAndWait('bob', 'second');
    assert.deepEqual(await collect(bobInbox, 2), ['hello bob', 'second']);
    const aliceInbox = alice.events();
    await bob.sendAndWait('alice', 'hi alice');
    assert.deepEqual(await collect(aliceInbox, 1), ['hi alice']);
    const h = alice.history('bob');
    assert.deepEqual(
      h.map((m) => [m.direction, m.text, m.status]),
      [
        ['out', 'hello bob', 'sent'],
        ['out', 'second', 'sent'],
        ['in', 'hi alice', 'received'],
      ],
    );
  });

  it('an offline client receives its queued messages on connect, in order', async () => {
    const carol = await world.register('carol');
    await carol.close();
    const dave = await world.register('dave');
    const sent = Array.from({ length: 12 }, (_, i) => `queued ${i}`);
    for (const t of sent) await dave.sendAndWait('carol', t);
    const again = await openClient({ home: world.home('carol') });
    const inbox = again.events();
    await again.connect();
    await again.drained();
    assert.deepEqual(await collect(inbox, sent.length), sent);
    await again.close();
  });

  it('a send made while offline goes out when the link returns', async () => {
    const erin = await world.register('erin');
    const frank = await world.register('frank');
    const inbox = frank.events();
    await world.server.close();
    await erin.send('frank', 'written offline');
    assert.equal(erin.history('frank')[0]?.status, 'pending');
    await world.restartServer();
    assert.deepEqual(await collect(inbox, 1, 20_000), ['written offline']);
    assert.equal(erin.history('frank')[0]?.status, 'sent');
  });
});
