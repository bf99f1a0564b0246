import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isRelayRefusal, registerAccount } from '@parley/client';
import { createWorld, type TestWorld } from './helpers/env.ts';

describe('registering a name that is taken', () => {
  let world: TestWorld;
  after(async () => world?.close());

  it('refuses with NAME_TAKEN and leaves the home free for another name at once', async () => {
    world = await createWorld();
    await world.register('alice');
    const home = world.home('newcomer');
    const server = world.server.url;
    await assert.rejects(registerAccount({ home, name: 'alice', server }), (err) => isRelayRefusal(err, 'NAME_TAKEN'));
    // Nothing of the refused attempt stays behind: the same home takes another name.
    const other = await registerAccount({ home, name: 'alice2', server });
    assert.equal(other.name, 'alice2');
    // The first device has a name, as linked ones do.
    assert.deepEqual(
      other.devices().map((d) => d.name),
      ['first device'],
    );
    await other.close();
  });
});
