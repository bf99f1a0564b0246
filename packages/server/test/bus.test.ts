/**
 * The delivery bus's doorbells: a node wakes the devices it queued for and does not hold, once
 * per device per event-loop turn, in as few events as fit; a node reading a `wake` pumps every
 * device it names that is connected to it. Low-stock notices reach a device on whichever node
 * holds it. (multi-node.test.ts runs delivery over real NATS and Redis between server processes.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_LIMITS, openSqliteStorage, type Storage } from '@parley/server';
import pino from 'pino';
import { type Bus, type BusEvent, MAX_WAKE_DEVICES, parseBusEvent } from '../src/bus/bus.ts';
import { createHub, type Delivery } from '../src/relay/hub.ts';
import { createLinkChannels } from '../src/relay/link-channels.ts';

describe('bus events', () => {
  it('parses a wake naming several devices, and the one-device form of the previous version', () => {
    const devices = [
      { account: 'alice', device: 1 },
      { account: 'bob', device: 3 },
    ];
    assert.deepEqual(parseBusEvent(JSON.stringify({ type: 'wake', devices })), { type: 'wake', devices });
    assert.deepEqual(parseBusEvent('{"type":"wake","account":"carol","device":2}'), {
      type: 'wake',
      devices: [{ account: 'carol', device: 2 }],
    });
    assert.deepEqual(parseBusEvent('{"type":"removed","account":"carol","device":2}'), {
      type: 'removed',
      account: 'carol',
      device: 2,
    });
  });

  it('parses a low-stock notice for a device, rebuilt field by field', () => {
    const notice = { type: 'keys-low', oneTime: 3, kem: 0 };
    assert.deepEqual(
      parseBusEvent(JSON.stringify({ type: 'notify', account: 'alice', device: 2, notice: { ...notice, extra: 'x' } })),
      { type: 'notify', account: 'alice', device: 2, notice },
    );
    for (const bad of [
      { type: 'drained' },
      { type: 'deliver', seq: 1 },
      { type: 'keys-low', oneTime: -1, kem: 0 },
      { type: 'keys-low', oneTime: 1 },
      { type: 'key-packages-low', count: '3' },
      null,
    ])
      assert.equal(
        parseBusEvent(JSON.stringify({ type: 'notify', account: 'alice', device: 2, notice: bad })),
        undefined,
      );
  });

  it('parses a link-channel doorbell only with a 16-byte channel id', () => {
    const channel = 'AAAAAAAAAAAAAAAAAAAAAA';
    assert.deepEqual(parseBusEvent(JSON.stringify({ type: 'link', channel, body: 'ignored' })), {
      type: 'link',
      channel,
    });
    for (const bad of [`${channel}A`, 'AAAA', `${channel.slice(1)}=`, 7])
      assert.equal(parseBusEvent(JSON.stringify({ type: 'link', channel: bad })), undefined, String(bad));
  });

  it('refuses a malformed or oversized wake', () => {
    const many = Array.from({ length: MAX_WAKE_DEVICES + 1 }, (_, i) => ({ account: `a${i}`, device: 1 }));
    for (const text of [
      '{"type":"wake","devices":[]}',
      JSON.stringify({ type: 'wake', devices: many }),
      '{"type":"wake","devices":[{"account":"alice","device":1.5}]}',
      '{"type":"wake","devices":[{"account":7,"device":1}]}',
      '{"type":"wake","devices":[null]}',
      '{"type":"wake","devices":"alice"}',
      '{"type":"wake"}',
      'not json',
    ])
      assert.equal(parseBusEvent(text), undefined, text);
  });
});

describe('doorbells between nodes (hub and link channels)', () => {
  let dir: string;
  let storage: Storage;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-bus-'));
    storage = await openSqliteStorage(dir, 'normal');
  });
  after(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A bus that records what the hub publishes and lets the test play another node. */
  function recordingBus() {
    const published: BusEvent[] = [];
    let handler: ((e: BusEvent) => void) | undefined;
    const bus: Bus = {
      name: 'test',
      publish: (e) => published.push(e),
      subscribe: (h) => {
        handler = h;
      },
      close: async () => {},
    };
    return { bus, published, fromAnotherNode: (e: BusEvent) => handler?.(e) };
  }
  const log = pino({ level: 'silent' });
  const body = new Uint8Array(32).fill(1);
  const nextTurn = () => new Promise((r) => setImmediate(r));

  it('rings each remote device once per turn, in one event, however many messages name it', async () => {
    const { bus, published } = recordingBus();
    const hub = createHub(storage, DEFAULT_LIMITS, Date.now, log, bus, 'node-a');
    const to = (account: string, device: number) => ({ account, device, kind: 1, body });
    const outcomes = await Promise.all([
      hub.send({ sender: 'zoe', senderDevice: 1, messageId: 'wake-test-1', messages: [to('bob', 1), to('bob', 2)] }),
      hub.send({ sender: 'zoe', senderDevice: 1, messageId: 'wake-test-2', messages: [to('bob', 1), to('carol', 1)] }),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['queued', 'queued'],
    );
    await nextTurn();
    assert.equal(published.length, 1, JSON.stringify(published));
    const [event] = published;
    assert.equal(event?.type, 'wake');
    assert.deepEqual(event?.type === 'wake' ? event.devices.map((d) => `${d.account}:${d.device}`).sort() : [], [
      'bob:1',
      'bob:2',
      'carol:1',
    ]);
  });

  it('splits a fan-out wider than one event allows', async () => {
    const { bus, published } = recordingBus();
    const hub = createHub(storage, DEFAULT_LIMITS, Date.now, log, bus, 'node-a');
    const messages = Array.from({ length: MAX_WAKE_DEVICES + 5 }, (_, i) => ({
      account: `member${i}`,
      device: 1,
      kind: 1,
      body,
    }));
    assert.equal(
      (await hub.send({ sender: 'zoe', senderDevice: 1, messageId: 'wake-test-wide', messages })).status,
      'queued',
    );
    await nextTurn();
    assert.deepEqual(
      published.map((e) => (e.type === 'wake' ? e.devices.length : -1)),
      [MAX_WAKE_DEVICES, 5],
    );
  });

  it('sends a low-stock notice to a device here, and over the bus for one that is not', async () => {
    const { bus, published, fromAnotherNode } = recordingBus();
    const hub = createHub(storage, DEFAULT_LIMITS, Date.now, log, bus, 'node-c');
    const frames: unknown[] = [];
    hub.attach({
      account: 'frank',
      device: 1,
      deliver: () => {},
      sendFrame: (f) => frames.push(f),
      replace: () => {},
      remove: () => {},
    });
    // Attaching reads frank's (empty) queue on the storage thread, then says `drained`.
    for (let i = 0; i < 200 && frames.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(frames, [{ type: 'drained' }]);
    frames.length = 0;
    published.length = 0; // and published (its attached event)
    hub.notify('frank', 1, { type: 'keys-low', oneTime: 2, kem: 5 });
    hub.notify('grace', 1, { type: 'key-packages-low', count: 1 });
    assert.deepEqual(frames, [{ type: 'keys-low', oneTime: 2, kem: 5 }]);
    assert.deepEqual(published, [
      { type: 'notify', account: 'grace', device: 1, notice: { type: 'key-packages-low', count: 1 } },
    ]);
    // Another node served a fetch of frank's KeyPackages: its notice reaches frank here.
    fromAnotherNode({ type: 'notify', account: 'frank', device: 1, notice: { type: 'key-packages-low', count: 0 } });
    fromAnotherNode({
      type: 'notify',
      account: 'nobody-here',
      device: 1,
      notice: { type: 'key-packages-low', count: 0 },
    });
    assert.deepEqual(frames, [
      { type: 'keys-low', oneTime: 2, kem: 5 },
      { type: 'key-packages-low', count: 0 },
    ]);
  });

  it('link channels: an answer reaches the device waiting here once, by the bus from another node; an expired id opens again', async () => {
    const { bus, published, fromAnotherNode } = recordingBus();
    const links = createLinkChannels(storage, bus, DEFAULT_LIMITS.maxLinkChannels, DEFAULT_LIMITS.linkPollMs);
    const got: string[] = [];
    const rec = (expiresAt: number) => ({ identity: 'id', name: 'phone', mac: 'mac', expiresAt });
    const chan = (c: string) => c.repeat(22);
    // Waiting here, answered here: handed at once, no bus event.
    assert.equal(await links.open(chan('A'), rec(10_000), 0, (b) => got.push(`A:${b}`)), 'opened');
    assert.equal(await links.open(chan('A'), rec(10_000), 0, () => {}), 'in-use', 'in use');
    assert.equal(await links.answer(chan('A'), 'one', 1), true);
    assert.equal(await links.answer(chan('A'), 'again', 1), false, 'answered once');
    assert.deepEqual(got, ['A:one']);
    assert.deepEqual(published, []);
    // Waiting on another node (opened straight in the shared store), answered here: a bus event.
    assert.equal(await storage.openLinkChannel(chan('B'), rec(10_000), 0, 100), 'opened');
    assert.equal(await links.answer(chan('B'), 'two', 1), true);
    assert.deepEqual(published, [{ type: 'link', channel: chan('B') }]);
    // Waiting here, answered on another node: its bus event hands the answer over, once.
    assert.equal(await links.open(chan('C'), rec(10_000), 0, (b) => got.push(`C:${b}`)), 'opened');
    assert.equal(await storage.answerLinkChannel(chan('C'), 'three', 1), true);
    fromAnotherNode({ type: 'link', channel: chan('C') });
    fromAnotherNode({ type: 'link', channel: chan('C') });
    for (let i = 0; i < 200 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, ['A:one', 'C:three']);
    // A waiter whose channel expired (its connection never closed it) does not hold the id.
    assert.equal(await links.open(chan('D'), rec(100), 0, () => {}), 'opened');
    assert.equal(await links.open(chan('D'), rec(10_000), 200, (b) => got.push(`D:${b}`)), 'opened');
    assert.equal(await links.answer(chan('D'), 'four', 300), true);
    assert.deepEqual(got, ['A:one', 'C:three', 'D:four']);
    links.stop();
  });

  it('link channels: an answer whose bus event was lost is found by looking', async () => {
    const { bus } = recordingBus();
    const links = createLinkChannels(storage, bus, 100, 20);
    const got: string[] = [];
    const chan = 'E'.repeat(22);
    assert.equal(
      await links.open(
        chan,
        { identity: 'id', name: 'phone', mac: 'mac', expiresAt: Date.now() + 60_000 },
        Date.now(),
        (b) => got.push(b),
      ),
      'opened',
    );
    // Answered on another node, whose `link` event never arrives.
    assert.equal(await storage.answerLinkChannel(chan, 'sealed', Date.now()), true);
    for (let i = 0; i < 200 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    links.stop();
    assert.deepEqual(got, ['sealed']);
    assert.deepEqual(await storage.takeLinkAnswers([chan]), [], 'taken');
  });

  it('pumps every connected device a wake from another node names', async () => {
    const { bus, fromAnotherNode } = recordingBus();
    const hub = createHub(storage, DEFAULT_LIMITS, Date.now, log, bus, 'node-b');
    const got = new Map<string, Delivery[]>();
    const attach = (account: string, device: number) => {
      got.set(`${account}:${device}`, []);
      hub.attach({
        account,
        device,
        deliver: (m) => got.get(`${account}:${device}`)?.push(m),
        sendFrame: () => {},
        replace: () => {},
        remove: () => {},
      });
    };
    attach('dave', 1);
    attach('erin', 4);
    await nextTurn();
    // Another node queued these (straight into the shared store) and rings both doorbells at once.
    const outcomes = await storage.enqueue(
      [
        {
          sender: 'zoe',
          senderDevice: 1,
          messageId: 'wake-test-remote',
          messages: [
            { account: 'dave', device: 1, kind: 1, body },
            { account: 'erin', device: 4, kind: 1, body },
          ],
        },
      ],
      Date.now(),
      Date.now() + 60_000,
      { messages: DEFAULT_LIMITS.maxQueuePerDevice, bytes: DEFAULT_LIMITS.maxQueueBytesPerDevice },
    );
    assert.equal(outcomes[0]?.status, 'queued');
    fromAnotherNode({
      type: 'wake',
      devices: [
        { account: 'nobody-here', device: 1 },
        { account: 'dave', device: 1 },
        { account: 'erin', device: 4 },
      ],
    });
    // Each pump reads the store on its thread: wait for both reads (bounded; the assertion says what arrived).
    for (let i = 0; i < 200 && [...got.values()].some((d) => d.length === 0); i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(
      [...got.entries()].map(([k, d]) => [k, d.map((m) => m.messageId)]),
      [
        ['dave:1', ['wake-test-remote']],
        ['erin:4', ['wake-test-remote']],
      ],
    );
  });
});
