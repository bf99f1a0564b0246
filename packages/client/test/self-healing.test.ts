import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type ClientEvent, HOME_DB_FILE, type ParleyClient, RESTART_INTERVAL_MS } from '@parley/client';
import Database from 'better-sqlite3';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';

/** Direct access to a home's session table, as a restore or a disk fault would change it. */
/**
 * Lets the clients in this process commit what they wrote this turn (a Node home groups its
 * writes until the end of the turn); a synchronous write from this thread would otherwise wait
 * on their transaction, which cannot commit while this thread waits.
 */
const committed = () => new Promise((resolve) => setImmediate(resolve));

function sessionRow(world: TestWorld, home: string, address: string) {
  const db = new Database(join(world.home(home), HOME_DB_FILE));
  db.pragma('busy_timeout = 5000');
  return {
    read: () =>
      (db.prepare('SELECT record FROM sessions WHERE address = ?').get(address) as { record: Buffer } | undefined)
        ?.record,
    write: (record: Buffer) => db.prepare('UPDATE sessions SET record = ? WHERE address = ?').run(record, address),
    remove: () => db.prepare('DELETE FROM sessions WHERE address = ?').run(address),
    close: () => db.close(),
  };
}

async function eventsUntil(events: AsyncIterableIterator<ClientEvent>, texts: string[], timeoutMs = 15_000) {
  const seen: ClientEvent[] = [];
  const got: string[] = [];
  const timer = setTimeout(() => void events.return?.(), timeoutMs);
  for await (const e of events) {
    seen.push(e);
    if (e.type === 'message') got.push(e.message.text);
    if (texts.every((t) => got.includes(t))) break;
  }
  clearTimeout(timer);
  return { seen, got };
}

describe('self-healing sessions: a message the sender still holds always arrives', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let bob: ParleyClient;
  // A session is restarted at most once an hour per device: each case starts an hour later.
  let skew = 0;
  const clock = () => Date.now() + skew;
  beforeEach(() => {
    skew += RESTART_INTERVAL_MS;
  });

  before(async () => {
    world = await createWorld();
    alice = await world.register('alice', { clock });
    bob = await world.register('bob', { clock });
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'warm-up 1');
    await collect(inbox, 1);
    const back = alice.events();
    await bob.sendAndWait('alice', 'warm-up 2');
    await collect(back, 1);
  });
  after(async () => {
    await world.close();
  });

  it('the receiver lost its session: retry request, new session, message delivered once', async () => {
    await committed();
    const row = sessionRow(world, 'bob', 'alice.1');
    assert.ok(row.read(), 'bob has a session with alice');
    row.remove();
    row.close();
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'after the loss');
    await alice.sendAndWait('bob', 'and one more');
    const { seen, got } = await eventsUntil(inbox, ['after the loss', 'and one more']);
    assert.ok(
      seen.some((e) => e.type === 'undecryptable'),
      'bob could not decrypt at first',
    );
    assert.deepEqual(got.sort(), ['after the loss', 'and one more']);
    // Both sides say so in the conversation, once (issue 19 item 4).
    assert.ok(seen.some((e) => e.type === 'session-restarted' && e.by === 'us' && e.requestedBy === 'bob'));
    await alice.idle();
    const lines = (c: ParleyClient, peer: string) =>
      c.history(peer, 100).filter((m) => m.direction === 'system' && m.text.endsWith("restarted at bob's request"));
    assert.deepEqual(
      lines(bob, 'alice').map((m) => m.text),
      ["session with alice's device 1 restarted at bob's request"],
    );
    assert.deepEqual(
      lines(alice, 'bob').map((m) => m.text),
      ["session with bob's device 1 restarted at bob's request"],
    );
    // The conversation goes on both ways afterwards.
    const back = alice.events();
    await bob.sendAndWait('alice', 'healed');
    assert.deepEqual(await collect(back, 1), ['healed']);
  });

  it('the receiver’s session was rolled back (a restore): new messages arrive, old ones are not repeated', async () => {
    await committed();
    const row = sessionRow(world, 'bob', 'alice.1');
    const snapshot = row.read() as Buffer;
    // Move the conversation on (several DH ratchet steps), then restore the old record.
    for (let i = 0; i < 3; i++) {
      const inbox = bob.events();
      await alice.sendAndWait('bob', `moving on ${i}`);
      await collect(inbox, 1);
      const back = alice.events();
      await bob.sendAndWait('alice', `reply ${i}`);
      await collect(back, 1);
    }
    await committed();
    row.write(snapshot);
    row.close();
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'after the rollback');
    const { got } = await eventsUntil(inbox, ['after the rollback']);
    assert.deepEqual(got, ['after the rollback']);
    // Messages only: each restart also wrote its "session … restarted at bob's request" line.
    const history = bob
      .history('alice', 100)
      .filter((m) => m.direction !== 'system')
      .map((m) => m.text);
    assert.equal(history.filter((t) => t === 'after the rollback').length, 1);
    assert.equal(new Set(history).size, history.length, 'no message stored twice');
  });

  it('a corrupted session record heals the same way', async () => {
    await committed();
    const row = sessionRow(world, 'bob', 'alice.1');
    row.write(Buffer.from('not a session record'));
    row.close();
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'after the corruption');
    const { got } = await eventsUntil(inbox, ['after the corruption']);
    assert.deepEqual(got, ['after the corruption']);
  });
});
