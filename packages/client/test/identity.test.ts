import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type ClientEvent,
  HOME_DB_FILE,
  isClientError,
  openClient,
  type ParleyClient,
  registerAccount,
} from '@parley/client';
import { SQLITE_FILE } from '@parley/server';
import Database from 'better-sqlite3';
import { collect, createWorld, forgetAccount, type TestWorld } from './helpers/env.ts';

async function next(events: AsyncIterableIterator<ClientEvent>, type: ClientEvent['type'], timeoutMs = 10_000) {
  const timer = setTimeout(() => void events.return?.(), timeoutMs);
  try {
    for await (const e of events) if (e.type === type) return e;
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`no ${type} event`);
}

describe('untrusted identity (policy hold-all): a contact whose account key changes', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let bob: ParleyClient;
  let newBob: ParleyClient;

  before(async () => {
    world = await createWorld();
    alice = await world.register('alice', { keyChangePolicy: 'hold-all' });
    bob = await world.register('bob');
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'before the change');
    await collect(inbox, 1);
    await bob.close();
    forgetAccount(world, 'bob');
    newBob = await registerAccount({ home: world.home('bob-new'), name: 'bob', server: world.server.url });
  });
  after(async () => {
    await newBob.close();
    await world.close();
  });

  it('a message from the new key is held and the change surfaces as an event', async () => {
    const events = alice.events();
    await newBob.sendAndWait('alice', 'hi, new phone');
    const e = await next(events, 'identity-changed');
    assert.deepEqual(e, { type: 'identity-changed', name: 'bob', verified: false });
    assert.ok(!alice.history('bob').some((m) => m.text === 'hi, new phone'), 'not shown before acceptance');
    const s = await alice.safety('bob');
    assert.equal(s.changed, true);
  });

  it('sending to the contact stops until the user accepts', async () => {
    await assert.rejects(alice.sendAndWait('bob', 'are you still you?'), (err) =>
      isClientError(err, 'UNTRUSTED_IDENTITY'),
    );
    await assert.rejects(alice.sendAndWait('bob', 'second try'), (err) => isClientError(err, 'UNTRUSTED_IDENTITY'));
  });

  it('after acceptance the held message appears and queued sends go to the new key only', async () => {
    const aliceEvents = alice.events();
    const bobInbox = newBob.events();
    await alice.acceptChange('bob');
    const m = await next(aliceEvents, 'message');
    assert.equal(m.type === 'message' && m.message.text, 'hi, new phone');
    const got = await collect(bobInbox, 2);
    assert.deepEqual(got.sort(), ['are you still you?', 'second try']);
    assert.equal((await alice.safety('bob')).changed, false);
    const later = newBob.events();
    await alice.sendAndWait('bob', 'welcome back');
    assert.deepEqual(await collect(later, 1), ['welcome back']);
  });

  it('a retry request for a message sent to the old key gets nothing (no resend to a new key)', async () => {
    // The server forges bob's retry request for 'before the change' (sent to bob's old key).
    const home = new Database(join(world.home('alice'), HOME_DB_FILE), { readonly: true });
    const sent = home
      .prepare('SELECT transport_id FROM sent WHERE recipient = ? ORDER BY created_at LIMIT 1')
      .get('bob') as {
      transport_id: string;
    };
    home.close();
    const server = new Database(join(world.dataDir, SQLITE_FILE));
    server.pragma('busy_timeout = 5000');
    const body = Buffer.from(JSON.stringify({ v: 1, messageId: sent.transport_id }));
    server
      .prepare(
        `INSERT INTO queue (account, device, sender, sender_device, message_id, kind, body, server_time, expires_at)
         VALUES ('alice', 1, 'bob', 1, 'forged-retry-1', 3, ?, 0, 9999999999999)`,
      )
      .run(body);
    server.close();
    await alice.close();
    const again = await openClient({ home: world.home('alice'), keyChangePolicy: 'hold-all' });
    await again.connect();
    await again.drained();
    // Anything the retry had queued would go out before this marker.
    const inbox = newBob.events();
    await again.sendAndWait('bob', 'marker');
    assert.deepEqual(await collect(inbox, 1), ['marker']);
    assert.ok(!newBob.history('alice').some((m) => m.text === 'before the change'));
    await again.close();
  });
});

describe('key changes under the block-verified policy (Signal’s rule)', () => {
  let world: TestWorld;
  before(async () => {
    world = await createWorld();
  });
  after(async () => world.close());

  async function reinstall(name: string, home: string): Promise<ParleyClient> {
    forgetAccount(world, name);
    return registerAccount({ home: world.home(home), name, server: world.server.url });
  }

  it('an unverified contact: warned once, recorded in the conversation, the next send held, then messages flow', async () => {
    const alice = await world.register('alice', { keyChangePolicy: 'block-verified' });
    const bob = await world.register('bob');
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'hello');
    await collect(inbox, 1);
    await bob.close();
    const newBob = await reinstall('bob', 'bob-2');
    const events = alice.events();
    await newBob.sendAndWait('alice', 'new phone, same bob');
    const seen: ClientEvent[] = [];
    const timer = setTimeout(() => void events.return?.(), 10_000);
    for await (const e of events) {
      seen.push(e);
      if (e.type === 'message') break;
    }
    clearTimeout(timer);
    assert.deepEqual(
      seen.filter((e) => e.type === 'identity-changed'),
      [{ type: 'identity-changed', name: 'bob', verified: false }],
    );
    assert.deepEqual(
      alice.history('bob').map((m) => [m.direction, m.text]),
      [
        ['out', 'hello'],
        ['system', "bob's safety number changed"],
        ['in', 'new phone, same bob'],
      ],
    );
    const bobInbox = newBob.events();
    await assert.rejects(alice.sendAndWait('bob', 'held, not sent'), (err) => isClientError(err, 'UNTRUSTED_IDENTITY'));
    await alice.sendAndWait('bob', 'got it');
    assert.deepEqual(await collect(bobInbox, 1), ['got it']);
    await newBob.close();
  });

  it('a verified contact: sending is blocked until re-verified', async () => {
    const carol = await world.register('carol', { keyChangePolicy: 'block-verified' });
    const dave = await world.register('dave');
    const inbox = dave.events();
    await carol.sendAndWait('dave', 'hi dave');
    await collect(inbox, 1);
    await carol.markVerified('dave', (await carol.safety('dave')).safetyNumber.digits);
    await dave.close();
    const newDave = await reinstall('dave', 'dave-2');
    await assert.rejects(carol.sendAndWait('dave', 'still you?'), (err) => isClientError(err, 'UNTRUSTED_IDENTITY'));
    const s = await carol.safety('dave');
    assert.equal(s.changed, true);
    assert.equal(s.verified, true);
    const daveInbox = newDave.events();
    await carol.markVerified('dave', s.safetyNumber.digits);
    assert.deepEqual(await collect(daveInbox, 1), ['still you?']);
    await newDave.close();
  });
});
