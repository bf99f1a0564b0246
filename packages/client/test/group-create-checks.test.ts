import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { groupIdOf, isClientError } from '@parley/client';
import { createWorld, type TestWorld } from './helpers/env.ts';
import { inGroup, until } from './helpers/groups.ts';

describe('creating a group checks every member first', () => {
  let world: TestWorld;
  after(async () => world?.close());

  it('one unknown name creates nothing; the corrected retry creates exactly one group', async () => {
    world = await createWorld();
    const alice = await world.register('gc-alice');
    const bob = await world.register('gc-bob');
    await assert.rejects(alice.createGroup('Trip', ['gc-bob', 'gc-nobody']), (err) =>
      isClientError(err, 'UNKNOWN_ACCOUNT'),
    );
    assert.deepEqual(alice.groups(), []);
    assert.equal(
      alice.conversations().some((c) => groupIdOf(c.peer) !== undefined),
      false,
    );
    const { id } = await alice.createGroup('Trip', ['gc-bob']);
    await until('bob to join', () => inGroup(bob, id));
    assert.deepEqual(
      alice.groups().map((g) => g.name),
      ['Trip'],
    );
    assert.deepEqual(
      bob.groups().map((g) => g.name),
      ['Trip'],
    );
  });
});
