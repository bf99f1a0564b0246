import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ClientEvent, isClientError, openClient, type ParleyClient, startLink } from '@parley/client';
import { SQLITE_FILE } from '@parley/server';
import Database from 'better-sqlite3';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';

function serverDb(world: TestWorld) {
  const db = new Database(join(world.dataDir, SQLITE_FILE));
  db.pragma('busy_timeout = 5000');
  return db;
}

async function until<T extends ClientEvent['type']>(
  events: AsyncIterableIterator<ClientEvent>,
  type: T,
  timeoutMs = 10_000,
): Promise<Extract<ClientEvent, { type: T }>> {
  const timer = setTimeout(() => void events.return?.(), timeoutMs);
  try {
    for await (const e of events) if (e.type === type) return e as Extract<ClientEvent, { type: T }>;
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`no ${type} event`);
}

describe('many devices per account', () => {
  let world: TestWorld;
  let alice1: ParleyClient;
  let alice2: ParleyClient;
  let bob1: ParleyClient;
  let bob2: ParleyClient;
  let bob3: ParleyClient;
  let bobListV1: Buffer;

  before(async () => {
    world = await createWorld();
    alice1 = await world.register('alice');
    bob1 = await world.register('bob');
    const db = serverDb(world);
    bobListV1 = (db.prepare("SELECT device_list FROM accounts WHERE name = 'bob'").get() as { device_list: Buffer })
      .device_list;
    db.close();
    alice2 = await world.link(alice1, 'alice-laptop');
    bob2 = await world.link(bob1, 'bob-laptop');
    bob3 = await world.link(bob1, 'bob-tablet');
  });
  after(async () => world.close());

  it('linking signs a new device list; every device knows the account’s devices', () => {
    assert.deepEqual(
      bob1.devices().map((d) => [d.id, d.name, d.current]),
      [
        [1, 'first device', true],
        [2, 'bob-laptop', false],
        [3, 'bob-tablet', false],
      ],
    );
    assert.equal(bob3.device, 3);
    assert.deepEqual(
      bob3.devices().map((d) => d.id),
      [1, 2, 3],
    );
  });

  it('Alice has 2 devices, Bob 3: every message arrives once on each of the other 4 devices', async () => {
    const others = [alice2, bob1, bob2, bob3];
    const inboxes = others.map((c) => c.events());
    await alice1.sendAndWait('bob', 'to all of bob, and my laptop');
    for (const inbox of inboxes) assert.deepEqual(await collect(inbox, 1), ['to all of bob, and my laptop']);
    assert.equal(
      alice2.history('bob').at(-1)?.direction,
      'out',
      'the copy on the sender’s laptop is an outgoing message',
    );
    // And from a linked device back the other way.
    const back = [alice1, alice2, bob1, bob2].map((c) => c.events());
    await bob3.sendAndWait('alice', 'from the tablet');
    for (const inbox of back) assert.deepEqual(await collect(inbox, 1), ['from the tablet']);
    for (const c of [alice1, alice2, bob1, bob2, bob3]) {
      const texts = c.history(c.name === 'alice' ? 'bob' : 'alice').map((m) => m.text);
      assert.equal(new Set(texts).size, texts.length, `${c.name}.${c.device} stored a message twice`);
    }
  });

  it('a device the operator writes into the database gets nothing, and every sending client is warned', async () => {
    const db = serverDb(world);
    const fake = db
      .prepare("SELECT identity FROM devices WHERE account = 'carol-not-here' OR account = 'alice' AND id = 2")
      .get() as {
      identity: Buffer;
    };
    db.prepare("INSERT INTO devices (account, id, identity) VALUES ('bob', 9, ?)").run(fake.identity);
    db.close();
    // A compromised operator edits the database and restarts the server.
    await world.restartServer();
    const events = alice1.events();
    const inbox = bob2.events();
    await alice1.sendAndWait('bob', 'not for the ghost');
    const warning = await until(events, 'unlisted-device');
    assert.deepEqual(warning, { type: 'unlisted-device', from: 'bob', fromDevice: 9 });
    assert.deepEqual(await collect(inbox, 1), ['not for the ghost']);
    // Bob's own devices see it too, the first time they fan out a copy to their account.
    const bobEvents = bob2.events();
    await bob2.sendAndWait('alice', 'from bob, not to the ghost either');
    const own = await until(bobEvents, 'unlisted-device');
    assert.deepEqual(own, { type: 'unlisted-device', from: 'bob', fromDevice: 9 });
    const after = serverDb(world);
    assert.equal(
      (after.prepare("SELECT COUNT(*) AS n FROM queue WHERE account = 'bob' AND device = 9").get() as { n: number }).n,
      0,
    );
    after.prepare("DELETE FROM devices WHERE account = 'bob' AND id = 9").run();
    after.close();
  });

  it('removing a device: it is disconnected, gets nothing afterwards, and nothing is stored for it', async () => {
    const closed = bob3.events();
    await bob1.removeDevice(3);
    const e = await until(closed, 'connection');
    assert.equal(e.state, 'removed');
    assert.deepEqual(
      bob1.devices().map((d) => d.id),
      [1, 2],
    );
    const inbox = bob2.events();
    await alice1.sendAndWait('bob', 'after the removal');
    assert.deepEqual(await collect(inbox, 1), ['after the removal']);
    const db = serverDb(world);
    assert.equal(
      (db.prepare("SELECT COUNT(*) AS n FROM queue WHERE account = 'bob' AND device = 3").get() as { n: number }).n,
      0,
    );
    assert.equal(
      (db.prepare("SELECT COUNT(*) AS n FROM devices WHERE account = 'bob' AND id = 3").get() as { n: number }).n,
      0,
    );
    db.close();
    await bob3.close();
    const again = await openClient({ home: world.home('bob-tablet') });
    await assert.rejects(
      again.connect(),
      (err) => isClientError(err, 'SERVER_REFUSED') && err.relayCode === 'AUTH_FAILED',
    );
    await again.close();
  });

  it('a device-list rollback served by the server is refused', async () => {
    const db = serverDb(world);
    db.prepare("UPDATE accounts SET device_list = ?, list_version = 1 WHERE name = 'bob'").run(bobListV1);
    db.prepare("DELETE FROM devices WHERE account = 'bob' AND id <> 1").run();
    db.close();
    await bob2.close(); // its device row is gone: it could not reconnect
    await world.restartServer();
    await assert.rejects(alice1.sendAndWait('bob', 'after the rollback'), (err) =>
      isClientError(err, 'INVALID_DEVICE_LIST'),
    );
  });

  it('a wrong link code is refused', async () => {
    await assert.rejects(alice1.acceptLink('not-a-code'), (err) => isClientError(err, 'INVALID_ARGUMENT'));
    const pending = await startLink({ home: world.home('wrong-code'), server: world.server.url, deviceName: 'x' });
    // Same channel, different secret: the offer's MAC does not verify.
    const bytes = Buffer.from(pending.code, 'base64url');
    bytes[20] = (bytes[20] as number) ^ 1;
    await assert.rejects(alice1.acceptLink(bytes.toString('base64url')), (err) =>
      isClientError(err, 'INVALID_ARGUMENT'),
    );
    pending.cancel();
    await assert.rejects(pending.done);
  });
});

describe('link codes expire', () => {
  it('an expired code is refused on both sides', async () => {
    const world = await createWorld({ limits: { linkTtlMs: 300 } });
    try {
      const alice = await world.register('alice');
      const pending = await startLink({ home: world.home('late'), server: world.server.url, deviceName: 'late' });
      const outcome = pending.done.then(
        () => 'linked',
        (err) => (isClientError(err) ? err.code : 'other'),
      );
      await new Promise((r) => setTimeout(r, 500));
      await assert.rejects(
        alice.acceptLink(pending.code),
        (err) => isClientError(err, 'INVALID_ARGUMENT') && /expired/.test(err.message),
      );
      assert.equal(await outcome, 'TIMEOUT');
    } finally {
      await world.close();
    }
  });
});
