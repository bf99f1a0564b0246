import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import sqlite3InitModule, { type Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import WebSocket from 'ws';
import { openClientOn, registerAccountOn } from '../../src/client.ts';
import { createMemoryImageStore, type ImageStore, openWasmHomeDatabase } from '../../src/home/wasm-home-database.ts';
import type { ClientPlatform, WebSocketLike } from '../../src/platform.ts';
import { collect, createWorld, type TestWorld } from '../helpers/env.ts';

// The browser backend (SQLite in WebAssembly, image saved after each write) run in Node, with an
// in-memory image store standing in for IndexedDB; the browser suite covers IndexedDB itself.
describe('WebAssembly home database', () => {
  let sqlite3: Sqlite3Static;
  before(async () => {
    sqlite3 = await sqlite3InitModule();
  });

  it('saves every committed write, and a reopened image has them', async () => {
    const store = createMemoryImageStore();
    const db = await openWasmHomeDatabase(sqlite3, store);
    db.prepare('INSERT INTO profile (key, value) VALUES (?, ?)').run('name', 'alice');
    const bytes = new Uint8Array([0, 1, 2, 255]);
    db.transaction(() => {
      db.prepare('INSERT INTO profile (key, value) VALUES (?, ?)').run('blob', bytes);
      db.prepare('INSERT INTO profile (key, value) VALUES (?, ?)').run('n', 42);
    })();
    await db.durable();
    db.close();
    const again = await openWasmHomeDatabase(sqlite3, createMemoryImageStore(store.image()));
    const get = again.prepare('SELECT value FROM profile WHERE key = ?').pluck();
    assert.equal(get.get('name'), 'alice');
    assert.deepEqual(get.get('blob'), bytes);
    assert.equal(get.get('n'), 42);
    assert.equal(get.get('missing'), undefined);
    again.close();
  });

  it('durable() waits for a save in progress and for writes made during it', async () => {
    let release: () => void = () => {};
    const saves: number[] = [];
    const inner = createMemoryImageStore();
    const slow: ImageStore = {
      load: inner.load,
      async save(image) {
        await new Promise<void>((r) => (release = r));
        saves.push(image.length);
        await inner.save(image);
      },
    };
    const opening = openWasmHomeDatabase(sqlite3, slow);
    await new Promise((r) => setTimeout(r, 10));
    release(); // the migration's save
    const db = await opening;
    db.prepare('INSERT INTO profile (key, value) VALUES (?, ?)').run('a', 1);
    let done = false;
    const waiting = db.durable().then(() => (done = true));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(done, false, 'durable() resolved before the save finished');
    db.prepare('INSERT INTO profile (key, value) VALUES (?, ?)').run('b', 2);
    release();
    await new Promise((r) => setTimeout(r, 10));
    release(); // the second write's save
    await waiting;
    const reopened = await openWasmHomeDatabase(sqlite3, createMemoryImageStore(inner.image()));
    assert.equal(reopened.prepare('SELECT COUNT(*) FROM profile').pluck().get(), 2);
    reopened.close();
    db.close();
  });

  it('rolls back a failed transaction, and a failed nested one only to its savepoint', async () => {
    const db = await openWasmHomeDatabase(sqlite3, createMemoryImageStore());
    const put = db.prepare('INSERT INTO profile (key, value) VALUES (?, ?)');
    assert.throws(() =>
      db.transaction(() => {
        put.run('x', 1);
        put.run('x', 2); // primary key conflict
      })(),
    );
    assert.equal(db.prepare('SELECT COUNT(*) FROM profile').pluck().get(), 0);
    db.transaction(() => {
      put.run('outer', 1);
      try {
        db.transaction(() => {
          put.run('inner', 1);
          throw new Error('inner fails');
        })();
      } catch {}
    })();
    assert.deepEqual(db.prepare('SELECT key FROM profile').pluck().all(), ['outer']);
    assert.equal(put.run('y', 1).changes, 1);
    assert.equal(db.prepare('DELETE FROM profile WHERE key = ?').run('nope').changes, 0);
    const bump = db.prepare(
      `INSERT INTO resends (transport_id, address, count) VALUES (?, ?, 1)
       ON CONFLICT (transport_id, address) DO UPDATE SET count = count + 1 RETURNING count`,
    );
    bump.get('t', 'a');
    assert.deepEqual(bump.get('t', 'a'), { count: 2 });
    db.close();
  });

  describe('the SDK on it, through a real relay', () => {
    let world: TestWorld;
    const images = new Map<string, ImageStore>();
    let platform: ClientPlatform;
    before(async () => {
      world = await createWorld();
      platform = {
        openHome: async (home) => {
          if (!images.has(home)) images.set(home, createMemoryImageStore());
          return openWasmHomeDatabase(sqlite3, images.get(home) as ImageStore);
        },
        openWebSocket: (url, maxPayload) => new WebSocket(url, { maxPayload }) as unknown as WebSocketLike,
        provider: createNodeCryptoProvider,
        random: createNodeRandom,
      };
    });
    after(async () => {
      await world.close();
    });

    it('chats with a Node client, and keeps sessions and history across a reopen', async () => {
      const alice = await world.register('alice');
      const bob = await registerAccountOn(platform, { home: 'bob', name: 'bob', server: world.server.url });
      const bobInbox = bob.events();
      await alice.sendAndWait('bob', 'hello wasm bob');
      assert.deepEqual(await collect(bobInbox, 1), ['hello wasm bob']);
      const aliceInbox = alice.events();
      await bob.sendAndWait('alice', 'hello node alice');
      assert.deepEqual(await collect(aliceInbox, 1), ['hello node alice']);
      await bob.close();

      // Sent while bob is away; bob's ratchet state must come back from the saved image.
      await alice.sendAndWait('bob', 'while you were away');
      const bob2 = await openClientOn(platform, { home: 'bob' });
      const inbox2 = bob2.events();
      await bob2.connect();
      assert.deepEqual(await collect(inbox2, 1), ['while you were away']);
      assert.deepEqual(
        bob2.history('alice').map((m) => [m.direction, m.text]),
        [
          ['in', 'hello wasm bob'],
          ['out', 'hello node alice'],
          ['in', 'while you were away'],
        ],
      );
      const aliceInbox2 = alice.events();
      await bob2.sendAndWait('alice', 'back again');
      assert.deepEqual(await collect(aliceInbox2, 1), ['back again']);
      await bob2.close();
    });
  });
});
