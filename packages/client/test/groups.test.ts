import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KEY_UPDATE_INTERVAL_MS, openClient } from '@parley/client';
import { createWorld, type TestWorld } from './helpers/env.ts';
import { inGroup, membersOf, texts, until } from './helpers/groups.ts';

describe('group conversations (MLS)', () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => {
    await world.close();
  });

  it('3 accounts × 2 devices: create, message, add, remove, leave — each device sees exactly its messages', async () => {
    const alice = await world.register('g1-alice');
    const bob = await world.register('g1-bob');
    const carol = await world.register('g1-carol');
    const alice2 = await world.link(alice, 'g1-alice-2');
    const bob2 = await world.link(bob, 'g1-bob-2');
    const carol2 = await world.link(carol, 'g1-carol-2');
    const all = [alice, alice2, bob, bob2, carol, carol2];

    const { id } = await alice.createGroup('Trip', ['g1-bob']);
    await until('alice2, bob and bob2 to join', () => [alice2, bob, bob2].every((c) => inGroup(c, id)));
    assert.deepEqual(membersOf(bob2, id), ['g1-alice:1+2', 'g1-bob:1+2']);
    assert.equal(bob.group(id).name, 'Trip');
    assert.deepEqual(bob.group(id).admins, ['g1-alice']);

    await alice.sendToGroup(id, 'm1');
    await until('m1', () => [alice2, bob, bob2].every((c) => texts(c, id).includes('m1')));

    await alice.addToGroup(id, ['g1-carol']);
    await until('carol to join', () => [carol, carol2].every((c) => inGroup(c, id)));
    await bob2.sendToGroup(id, 'm2');
    await until('m2', () => [alice, alice2, bob, carol, carol2].every((c) => texts(c, id).includes('m2')));

    await alice.removeFromGroup(id, ['g1-bob']);
    await until('bob to be removed', () => [bob, bob2].every((c) => c.group(id).status === 'removed'));
    await carol.sendToGroup(id, 'm3');
    await until('m3', () => [alice, alice2, carol2].every((c) => texts(c, id).includes('m3')));

    await carol2.leaveGroup(id);
    await until('carol to be removed by a member', () => !membersOf(alice, id).some((m) => m.startsWith('g1-carol')));
    await until('carol (device 1) to see the removal', () => carol.group(id).status === 'removed');
    await alice.sendToGroup(id, 'm4');
    await until('m4', () => texts(alice2, id).includes('m4'));
    for (const c of all) await c.idle();

    assert.deepEqual(texts(alice, id), ['m1', 'm2', 'm3', 'm4']);
    assert.deepEqual(texts(alice2, id), ['m1', 'm2', 'm3', 'm4']);
    assert.deepEqual(texts(bob, id), ['m1', 'm2']);
    assert.deepEqual(texts(bob2, id), ['m1', 'm2']);
    assert.deepEqual(texts(carol, id), ['m2', 'm3']);
    assert.deepEqual(texts(carol2, id), ['m2', 'm3']);
    assert.deepEqual(membersOf(alice2, id), ['g1-alice:1+2']);
  });

  it('refuses a non-admin adding or removing others before anything reaches the server', async () => {
    const alice = await world.register('g2-alice');
    const bob = await world.register('g2-bob');
    await world.register('g2-carol');
    const { id } = await alice.createGroup('Admins only', ['g2-bob']);
    await until('bob to join', () => inGroup(bob, id));
    await assert.rejects(bob.addToGroup(id, ['g2-carol']), { code: 'NOT_ALLOWED' });
    await assert.rejects(bob.removeFromGroup(id, ['g2-alice']), { code: 'NOT_ALLOWED' });
    await alice.updateGroup(id, { admins: ['g2-alice', 'g2-bob'] });
    await until('bob to become admin', () => bob.group(id).admins.includes('g2-bob'));
    await bob.addToGroup(id, ['g2-carol']);
    await until('carol on alice’s list', () => membersOf(alice, id).some((m) => m.startsWith('g2-carol')));
  });

  it('concurrent commits: one wins, the other rebases, every device converges', async () => {
    const alice = await world.register('g3-alice');
    const bob = await world.register('g3-bob');
    const carol = await world.register('g3-carol');
    const dave = await world.register('g3-dave');
    const { id } = await alice.createGroup('Race', ['g3-bob']);
    await until('bob to join', () => inGroup(bob, id));
    await alice.updateGroup(id, { admins: ['g3-alice', 'g3-bob'] });
    await until('bob to become admin', () => bob.group(id).admins.includes('g3-bob'));
    await Promise.all([alice.addToGroup(id, ['g3-carol']), bob.addToGroup(id, ['g3-dave'])]);
    await until('carol and dave to join', () => inGroup(carol, id) && inGroup(dave, id));
    const everyone = [alice, bob, carol, dave];
    await until('every device on one epoch', () => new Set(everyone.map((c) => c.group(id).epoch)).size === 1);
    const expected = ['g3-alice:1', 'g3-bob:1', 'g3-carol:1', 'g3-dave:1'];
    for (const c of everyone) assert.deepEqual(membersOf(c, id), expected);
    await dave.sendToGroup(id, 'after the race');
    await until('everyone reads dave', () => [alice, bob, carol].every((c) => texts(c, id).includes('after the race')));
  });

  it('an offline member catches up on a backlog spanning several epochs', async () => {
    const alice = await world.register('g4-alice');
    const bob = await world.register('g4-bob');
    await world.register('g4-carol');
    await world.register('g4-dave');
    const { id } = await alice.createGroup('Backlog', ['g4-bob']);
    await until('bob to join', () => inGroup(bob, id));
    await bob.close();
    await alice.sendToGroup(id, 'e1');
    await alice.addToGroup(id, ['g4-carol']);
    await alice.sendToGroup(id, 'e2');
    await alice.addToGroup(id, ['g4-dave']);
    await alice.removeFromGroup(id, ['g4-carol']);
    await alice.sendToGroup(id, 'e3');
    await alice.idle();
    const back = await openClient({ home: world.home('g4-bob'), maxBackoffMs: 200 });
    try {
      await back.connect();
      await back.drained();
      assert.deepEqual(texts(back, id), ['e1', 'e2', 'e3']);
      assert.equal(back.group(id).epoch, alice.group(id).epoch);
      assert.deepEqual(membersOf(back, id), membersOf(alice, id));
    } finally {
      await back.close();
    }
    // Restarted after the commits: the ratchet tree, stored apart from the state and rewritten
    // only when a commit changed it, must be the current one (members, next commit, sender).
    const again = await openClient({ home: world.home('g4-bob'), maxBackoffMs: 200 });
    try {
      assert.deepEqual(membersOf(again, id), membersOf(alice, id));
      await again.connect();
      await alice.removeFromGroup(id, ['g4-dave']);
      await alice.sendToGroup(id, 'e4');
      await alice.idle();
      await until('bob to read e4', () => texts(again, id).includes('e4'));
      assert.deepEqual(membersOf(again, id), membersOf(alice, id));
      assert.equal(again.group(id).epoch, alice.group(id).epoch);
    } finally {
      await again.close();
    }
  });

  it('a device linked later joins every group through its own account; an unlinked one is removed', async () => {
    const alice = await world.register('g5-alice');
    const bob = await world.register('g5-bob');
    const { id } = await alice.createGroup('Later', ['g5-bob']);
    await until('bob to join', () => inGroup(bob, id));
    const updates: { by: string; added: readonly string[] }[] = [];
    const events = alice.events();
    void (async () => {
      for await (const e of events) if (e.type === 'group-updated') updates.push(e);
    })();
    const bob2 = await world.link(bob, 'g5-bob-2');
    await bob.idle();
    await until('bob2 to join', () => inGroup(bob2, id));
    await until('alice to see bob2', () => membersOf(alice, id).includes('g5-bob:1+2'));
    assert.deepEqual(updates[0], { ...updates[0], by: 'g5-bob', added: ['g5-bob'] }, 'bob added his own device');
    await alice.sendToGroup(id, 'hello both of you');
    await until('bob2 to read it', () => texts(bob2, id).includes('hello both of you'));
    await bob.removeDevice(2);
    await until('alice to see bob2 gone', () => membersOf(alice, id).includes('g5-bob:1'));
    await alice.sendToGroup(id, 'only bob1 now');
    await until('bob to read it', () => texts(bob, id).includes('only bob1 now'));
    await bob2.idle();
    assert.ok(!texts(bob2, id).includes('only bob1 now'));
    void events.return?.();
  });

  it('a device replaces its own leaf keys after a week (post-compromise security), and members follow', async () => {
    let now = Date.now();
    const alice = await world.register('g6-alice', { clock: () => now });
    const bob = await world.register('g6-bob');
    const { id } = await alice.createGroup('Rotating', ['g6-bob']);
    await until('bob to join', () => inGroup(bob, id));
    const updates: { by: string; added: readonly string[]; removed: readonly string[] }[] = [];
    const events = bob.events();
    void (async () => {
      for await (const e of events) if (e.type === 'group-updated') updates.push(e);
    })();
    const epoch = alice.group(id).epoch;
    await alice.sendToGroup(id, 'within the week');
    await until('bob to read it', () => texts(bob, id).includes('within the week'));
    assert.equal(alice.group(id).epoch, epoch, 'no update within the interval');
    now += KEY_UPDATE_INTERVAL_MS + 1;
    await alice.sendToGroup(id, 'a week later');
    await until('bob to read it', () => texts(bob, id).includes('a week later'));
    assert.equal(alice.group(id).epoch, epoch + 1, 'alice committed one update first');
    assert.equal(bob.group(id).epoch, epoch + 1);
    assert.deepEqual(updates, [{ ...updates[0], by: 'g6-alice', added: [], removed: [] }]);
    await alice.sendToGroup(id, 'and again, no new update');
    await until('bob to read it', () => texts(bob, id).includes('and again, no new update'));
    assert.equal(alice.group(id).epoch, epoch + 1);
    void events.return?.();
  });
});
