import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { groupPeer, type ParleyClient, registerAccount } from '@parley/client';
import { utf8 } from '@parley/protocol';
import { collect, createWorld, type TestWorld } from '../helpers/env.ts';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy.ts';
import { contains, trafficViews } from '../helpers/scan.ts';

describe('search through the SDK', () => {
  let world: TestWorld;
  let proxy: RecordingProxy;
  let alice: ParleyClient;
  let bob: ParleyClient;
  let groupId: string;
  const marker = `srch${Math.random().toString(36).slice(2, 10)}`;
  const onlySearched = `nomatch${Math.random().toString(36).slice(2, 10)}`;

  before(async () => {
    world = await createWorld();
    proxy = await startRecordingProxy(() => world.server.url);
    const reg = (name: string) =>
      registerAccount({ home: world.home(name), name, server: proxy.url, receipts: false, maxBackoffMs: 200 });
    alice = await reg('alice');
    bob = await reg('bob');
    const inbox = bob.events();
    await alice.sendAndWait('bob', `first ${marker} line`);
    await alice.sendAndWait('bob', 'something else');
    ({ id: groupId } = await alice.createGroup('Trip', ['bob']));
    await alice.sendToGroup(groupId, `group ${marker} plan`);
    await collect(inbox, 4);
    await bob.idle();
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await proxy.close();
    await world.close();
  });

  it('finds received and sent messages, in one conversation or one group', () => {
    for (const c of [alice, bob]) {
      const hits = c.search(marker);
      assert.deepEqual(
        hits.map((h) => [h.peer, h.sender]),
        [
          [groupPeer(groupId), 'alice'],
          ['bob' === c.name ? 'alice' : 'bob', 'alice'],
        ],
      );
      assert.deepEqual(
        c.search(marker, { group: groupId }).map((h) => h.snippet),
        [`group ${marker} plan`],
      );
    }
    assert.deepEqual(
      bob.search(marker, { peer: 'alice' }).map((h) => h.snippet),
      [`first ${marker} line`],
    );
    assert.equal(bob.search(marker, { peer: 'alice' })[0]?.id, bob.history('alice')[0]?.id);
    assert.deepEqual(bob.search(onlySearched), []);
  });

  it('no search term reaches the server: not in its traffic, not in its files', async () => {
    const before = proxy.frames.length;
    bob.search(`${onlySearched} ${marker}`);
    bob.search(onlySearched, { peer: 'alice' });
    await bob.idle();
    assert.equal(proxy.frames.length, before, 'a search sends nothing');
    const views = trafficViews(proxy.frames);
    // The scan can see: names travel in the clear, and it finds them.
    assert.ok(views.some((v) => contains(v, utf8('"name":"bob"'))));
    const files = readdirSync(world.dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => new Uint8Array(readFileSync(join(e.parentPath, e.name))));
    for (const term of [marker, onlySearched]) {
      assert.ok(!views.some((v) => contains(v, utf8(term))), 'search term in traffic');
      assert.ok(!files.some((f) => contains(f, utf8(term))), 'search term in the server files');
    }
  });
});
