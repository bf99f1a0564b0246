import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openClient, type ParleyClient } from '@parley/client';
import { createWorld, type TestWorld } from '../helpers/env.ts';

// The server's backstop: a disappearing message still queued for an offline device when its
// timer runs out is dropped by the server, not delivered late. The server's clock is injected.
describe('queued disappearing messages expire on the server', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let serverNow = Date.now();

  before(async () => {
    world = await createWorld({ clock: () => serverNow });
    alice = await world.register('alice');
    const bob = await world.register('bob');
    const events = bob.events();
    await alice.setTimer('bob', 300);
    for await (const e of events) if (e.type === 'timer') break;
    await bob.close();
  });
  after(async () => {
    await alice.close();
    await world.close();
  });

  it('a copy queued past its timer is never delivered; one within it is', async () => {
    await alice.sendAndWait('bob', 'too late');
    serverNow += 5 * 60_000 + 1;
    const { id: fresh } = await alice.sendAndWait('bob', 'in time');
    const bob = await openClient({ home: world.home('bob'), receipts: false });
    const got: string[] = [];
    await bob.connect();
    await bob.drained();
    await bob.idle();
    for (const m of bob.history('alice')) if (m.direction === 'in') got.push(m.text);
    assert.deepEqual(got, ['in time']);
    assert.ok(bob.history('alice').some((m) => m.id === fresh));
    await bob.close();
  });
});
