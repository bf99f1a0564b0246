import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type ClientEvent,
  decodeContent,
  encodeContent,
  openClient,
  type ParleyClient,
  registerAccount,
} from '@parley/client';
import { decodeReceipt } from '../src/content.ts';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';

/** Waits for the next event of `type` matching `match`, leaving the iterator open for more. */
async function nextEvent<T extends ClientEvent['type']>(
  events: AsyncIterableIterator<ClientEvent>,
  type: T,
  match: (e: Extract<ClientEvent, { type: T }>) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<Extract<ClientEvent, { type: T }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now()));
    });
    const r = await Promise.race([events.next(), timeout]);
    clearTimeout(timer);
    if (r === 'timeout' || r.done) throw new Error(`no ${type} event`);
    const e = r.value;
    if (e.type === type && match(e as Extract<ClientEvent, { type: T }>)) return e as Extract<ClientEvent, { type: T }>;
  }
}

describe('delivery and read receipts', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let bob: ParleyClient;
  const withReceipts = (name: string) =>
    registerAccount({ home: world.home(name), name, server: world.server.url, receipts: true });

  before(async () => {
    world = await createWorld();
    alice = await withReceipts('alice');
    bob = await withReceipts('bob');
  });
  after(async () => {
    await alice.close();
    await bob.close();
    await world.close();
  });

  it('a message goes sent → delivered → read, and unread counts follow markRead', async () => {
    const aliceEvents = alice.events();
    const bobInbox = bob.events();
    const { id } = await alice.sendAndWait('bob', 'tick tick');
    assert.deepEqual(await collect(bobInbox, 1), ['tick tick']);
    const delivered = await nextEvent(aliceEvents, 'receipt', (e) => e.ids.includes(id));
    assert.deepEqual([delivered.peer, delivered.status], ['bob', 'delivered']);
    assert.equal(alice.history('bob').find((m) => m.id === id)?.status, 'delivered');

    assert.deepEqual(
      bob.conversations().map((c) => [c.peer, c.unread, c.last.text]),
      [['alice', 1, 'tick tick']],
    );
    bob.markRead('alice');
    assert.equal(bob.conversations()[0]?.unread, 0);
    const read = await nextEvent(aliceEvents, 'receipt', (e) => e.status === 'read');
    assert.deepEqual(read.ids, [id]);
    assert.equal(alice.history('bob').find((m) => m.id === id)?.status, 'read');
    // Alice's own conversation list counts nothing unread: the line is hers.
    assert.equal(alice.conversations()[0]?.unread, 0);
    await aliceEvents.return?.();
  });

  it('a backlog is acknowledged with one receipt, then read as a whole', async () => {
    await bob.close();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await alice.sendAndWait('bob', `queued ${i}`)).id);
    const aliceEvents = alice.events();
    bob = await openClient({ home: world.home('bob'), receipts: true });
    await bob.connect();
    const receipt = await nextEvent(aliceEvents, 'receipt');
    assert.deepEqual([...receipt.ids].sort(), [...ids].sort(), 'one receipt names the whole backlog');
    bob.markRead('alice');
    await nextEvent(aliceEvents, 'receipt', (e) => e.status === 'read');
    const statuses = alice
      .history('bob')
      .filter((m) => ids.includes(m.id))
      .map((m) => m.status);
    assert.deepEqual(statuses, ['read', 'read', 'read', 'read', 'read']);
    await aliceEvents.return?.();
  });

  it('a client with receipts off sends none, but applies the ones it gets', async () => {
    // Registered without the option (the test world's clients turn receipts off): the home
    // setting decides, and it is on by default; carol opts out with it (`parley config read-receipts off`).
    const carol = await registerAccount({ home: world.home('carol'), name: 'carol', server: world.server.url });
    after(() => carol.close());
    assert.equal(carol.readReceipts(), true);
    carol.setReadReceipts(false);
    assert.equal(carol.readReceipts(), false);
    const carolEvents = carol.events();
    const { id } = await alice.sendAndWait('carol', 'no ticks from carol');
    await collect(carolEvents, 1);
    // Anything carol had queued for alice would arrive before this later message.
    const aliceInbox = alice.events();
    await carol.sendAndWait('alice', 'but carol answers');
    assert.deepEqual(await collect(aliceInbox, 1), ['but carol answers']);
    assert.equal(alice.history('carol').find((m) => m.id === id)?.status, 'sent');
    // Alice sends receipts: carol's message to alice becomes delivered on carol's side.
    const mine = carol.history('alice').find((m) => m.text === 'but carol answers');
    const carolEvents2 = carol.events();
    if (mine?.status !== 'delivered') await nextEvent(carolEvents2, 'receipt');
    assert.equal(carol.history('alice').find((m) => m.text === 'but carol answers')?.status, 'delivered');
    await carolEvents2.return?.();
  });

  it('decodes only well-formed receipts, and a text decoder drops them', () => {
    const good = { v: 1 as const, id: 'receipt-0001', ts: 1, receipt: 'read' as const, ids: ['message-0001'] };
    assert.deepEqual(decodeReceipt(encodeContent(good)), good);
    assert.equal(decodeContent(encodeContent(good)), undefined, 'a receipt is never shown as a message');
    const bad = [
      { ...good, receipt: 'seen' },
      { ...good, ids: [] },
      { ...good, ids: ['short'] },
      { ...good, ids: Array.from({ length: 101 }, (_, i) => `message-${String(i).padStart(4, '0')}`) },
      { ...good, ids: 'message-0001' },
      { ...good, v: 2 },
    ];
    for (const b of bad)
      assert.equal(decodeReceipt(encodeContent(b as never)), undefined, JSON.stringify(b).slice(0, 60));
    assert.equal(decodeReceipt(encodeContent({ v: 1, id: 'message-0001', ts: 1, text: 'hi' })), undefined);
  });
});
