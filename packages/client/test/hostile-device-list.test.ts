/**
 * A hostile server that keeps a signed device list from before a device was removed and serves
 * it again (issue 19, item 3): a contact who pinned that list must not keep encrypting to the
 * removed (stolen) device. The removal reaches contacts inside the encrypted channel, every
 * message announces its sender's device-list version and hash, and nobody goes back to an older
 * list than one they have seen (docs/protocol.md §10, "Never go back"). docs/threat-model.md maps here.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type ClientEvent, isClientError, type ParleyClient } from '@parley/client';
import { decodeSignedDeviceList, fromBase64Url } from '@parley/protocol';
import { collect } from './helpers/env.ts';
import { hostileWorld } from './helpers/hostile-world.ts';

type Frame = Record<string, unknown> & {
  type?: string;
  id?: number;
  op?: string;
  args?: { name?: string; messageId?: string; messages?: { device: number }[] };
  result?: Record<string, unknown>;
};

type Hostile = Awaited<ReturnType<typeof hostileWorld>>;

/**
 * The operator's replay: every answer that carries bob's signed device list (`victimKey`'s)
 * carries `old` instead, and every ciphertext any client encrypts for bob's device `stolen` is
 * kept by the server (stripped from the send, so the real relay, which knows the device is gone,
 * accepts the rest) and recorded in `captured`. While `dropTo` is set, bob's sends to that
 * account are swallowed and answered as accepted (a message its sender believes delivered).
 */
function replayOldList(h: Hostile, victimKey: string, old: string, stolen: number) {
  const state = { captured: [] as string[], dropTo: undefined as string | undefined, dropped: 0, rule };
  function rule(d: string, toServer: boolean): string[] {
    const f = JSON.parse(d) as Frame;
    if (toServer) {
      if (f.type !== 'request' || f.op !== 'send' || f.args === undefined) return [d];
      if (state.dropTo !== undefined && f.args.name === state.dropTo) {
        state.dropped++;
        const fake = { type: 'response', id: f.id, result: { serverTime: Date.now(), duplicate: false } };
        setImmediate(() => h.proxy.inject('bob', JSON.stringify(fake)));
        return [];
      }
      const messages = f.args.messages ?? [];
      if (f.args.name !== 'bob' || !messages.some((m) => m.device === stolen)) return [d];
      state.captured.push(`bob.${stolen} (send ${f.args.messageId})`);
      return [JSON.stringify({ ...f, args: { ...f.args, messages: messages.filter((m) => m.device !== stolen) } })];
    }
    if (f.type === 'response' && f.result?.accountKey === victimKey && typeof f.result.deviceList === 'string') {
      return [JSON.stringify({ ...f, result: { ...f.result, deviceList: old } })];
    }
    return [d];
  }
  h.setRule(rule);
  return state;
}

/** Records the signed device lists the server serves, to find bob's list of `count` devices and his key. */
function watchLists(h: Hostile, count: number) {
  const served: { accountKey: string; deviceList: string }[] = [];
  h.setRule((d, toServer) => {
    const f = JSON.parse(d) as Frame;
    const r = f.result;
    if (!toServer && f.type === 'response' && typeof r?.deviceList === 'string' && typeof r.accountKey === 'string')
      served.push({ accountKey: r.accountKey, deviceList: r.deviceList });
    return [d];
  });
  return () => {
    const last = served
      .filter((s) => decodeSignedDeviceList(fromBase64Url('l', s.deviceList)).devices.length === count)
      .at(-1);
    assert.ok(last, `the server served bob's list of ${count} devices`);
    return last;
  };
}

async function eventsUntil(events: AsyncIterableIterator<ClientEvent>, done: (e: ClientEvent) => boolean) {
  const timer = setTimeout(() => void events.return?.(), 15_000);
  for await (const e of events) {
    if (done(e)) {
      clearTimeout(timer);
      return e;
    }
  }
  clearTimeout(timer);
  throw new Error('event not seen');
}

/** alice and bob (devices 1 and 2) talk; alice has pinned bob's list with both devices. */
async function twoDeviceBob(h: Hostile) {
  const alice = await h.register('alice');
  const bob = await h.register('bob');
  const bob2 = await h.link(bob, 'bob-laptop'); // bob's list: version 2, devices 1 and 2
  const lists = watchLists(h, 2);
  const inbox = bob.events();
  const inbox2 = bob2.events();
  await alice.sendAndWait('bob', 'hello both');
  assert.deepEqual(await collect(inbox, 1), ['hello both']);
  assert.deepEqual(await collect(inbox2, 1), ['hello both']);
  const back = alice.events();
  await bob.sendAndWait('alice', 'hi alice');
  assert.deepEqual(await collect(back, 1), ['hi alice']);
  await bob.idle(); // its copy of 'hi alice' for device 2 went out before the removal
  await alice.idle();
  const old = lists();
  return { alice, bob, bob2, victimKey: old.accountKey, oldList: old.deviceList };
}

/** Bob removes device 2 and sends whatever that makes him send. */
async function removeBob2(bob: ParleyClient, bob2: ParleyClient) {
  await bob.removeDevice(2);
  await bob.idle();
  await bob2.close();
}

describe('hostile server: an older device list after a removal', () => {
  const worlds: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const w of worlds) await w.close();
  });

  it('serves the list from before the removal again → the removal notice reaches alice, nothing is encrypted to the removed device', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const { alice, bob, bob2, victimKey, oldList } = await twoDeviceBob(h);
    const replay = replayOldList(h, victimKey, oldList, 2);
    await removeBob2(bob, bob2);
    // Deliveries are processed in order: once alice has bob's next message, she has the notice.
    const back = alice.events();
    await bob.sendAndWait('alice', 'a reply');
    assert.deepEqual(await collect(back, 1), ['a reply']);
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'after the removal');
    assert.deepEqual(await collect(inbox, 1), ['after the removal']);
    assert.deepEqual(replay.captured, [], 'nothing was encrypted to the removed device');
    assert.equal((await alice.safety('bob')).staleDeviceList, undefined, 'the notice answered the announcement');
  });

  it('drops the removal notice and serves the old list → bob’s next message announces the newer list, alice refuses to send to the stale one', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const { alice, bob, bob2, victimKey, oldList } = await twoDeviceBob(h);
    const replay = replayOldList(h, victimKey, oldList, 2);
    replay.dropTo = 'alice';
    await removeBob2(bob, bob2);
    replay.dropTo = undefined;
    const dropped = replay.dropped;
    const inbox = alice.events();
    await bob.sendAndWait('alice', 'after my removal');
    const stale = await eventsUntil(inbox, (e) => e.type === 'device-list-stale');
    assert.deepEqual(stale, { type: 'device-list-stale', name: 'bob', announced: 3, trusted: 2 });
    assert.deepEqual((await alice.safety('bob')).staleDeviceList, { announced: 3, trusted: 2 });
    assert.ok(
      alice.history('bob').some((m) => m.text === 'after my removal'),
      'bob’s message itself is shown',
    );
    await assert.rejects(alice.sendAndWait('bob', 'to the stale list?'), (err) =>
      isClientError(err, 'INVALID_DEVICE_LIST'),
    );
    assert.deepEqual(replay.captured, [], 'nothing was encrypted to the removed device');
    assert.ok(dropped >= 1, 'the removal notice was sent (and dropped by the server)');
  });

  it('a contact who has seen version 3 refuses version 2 served later, and still never encrypts to the removed device', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const { alice, bob, bob2, victimKey, oldList } = await twoDeviceBob(h);
    await removeBob2(bob, bob2); // honest: alice gets the notice and version 3
    const back = alice.events();
    await bob.sendAndWait('alice', 'a reply');
    assert.deepEqual(await collect(back, 1), ['a reply']);
    const replay = replayOldList(h, victimKey, oldList, 2);
    // Now the server claims bob's devices changed, so that alice asks for the list: it serves version 2.
    let faked = false;
    h.setRule((d, toServer) => {
      const f = JSON.parse(d) as Frame;
      if (!toServer && !faked && f.type === 'response' && f.result?.serverTime !== undefined) {
        faked = true;
        const details = { devices: [1], missing: [2], extra: [], changed: [] };
        return [JSON.stringify({ type: 'error', id: f.id, code: 'STALE_DEVICES', message: 'stale', details })];
      }
      return replay.rule(d, toServer);
    });
    await assert.rejects(alice.sendAndWait('bob', 'after the rollback'), (err) =>
      isClientError(err, 'INVALID_DEVICE_LIST'),
    );
    assert.ok(faked);
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'still only to device 1');
    assert.deepEqual(await collect(inbox, 1), ['still only to device 1']);
    assert.deepEqual(replay.captured, [], 'nothing was encrypted to the removed device');
  });

  it('serves bob’s other device its own list from before the removal → the notice reaches it, its copies skip the removed device', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('alice');
    const bob = await h.register('bob');
    const bob2 = await h.link(bob, 'bob-laptop');
    const bob3 = await h.link(bob, 'bob-tablet'); // version 3: devices 1, 2 and 3
    const lists = watchLists(h, 3);
    const inbox3 = bob3.events();
    await alice.sendAndWait('bob', 'hello all three');
    assert.deepEqual(await collect(inbox3, 1), ['hello all three']);
    await bob3.sendAndWait('alice', 'from the tablet'); // bob3 has sessions with devices 1 and 2
    await bob3.idle();
    await alice.idle();
    const old = lists();
    const replay = replayOldList(h, old.accountKey, old.deviceList, 2);
    await removeBob2(bob, bob2);
    // bob3 gets the notice before bob's next message, whose copy it also gets.
    const copies = bob3.events();
    const back = alice.events();
    await bob.sendAndWait('alice', 'after the removal');
    await eventsUntil(copies, (e) => e.type === 'message' && e.message.text === 'after the removal');
    await bob3.sendAndWait('alice', 'again from the tablet');
    assert.deepEqual(await collect(back, 2), ['after the removal', 'again from the tablet']);
    await bob3.idle();
    assert.deepEqual(replay.captured, [], 'no copy went to the removed device');
    assert.deepEqual(
      bob3.devices().map((d) => d.id),
      [1, 3],
    );
  });

  it('drops the removal notice; bob’s next group message announces the newer list → alice flags it and refuses one-to-one sends to the stale list', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const { alice, bob, bob2, victimKey, oldList } = await twoDeviceBob(h);
    const joined = bob.events();
    const { id } = await alice.createGroup('Trip', ['bob']);
    await eventsUntil(joined, (e) => e.type === 'group-joined');
    const replay = replayOldList(h, victimKey, oldList, 2);
    replay.dropTo = 'alice';
    await removeBob2(bob, bob2);
    replay.dropTo = undefined;
    const inbox = alice.events();
    await bob.sendToGroup(id, 'hello group');
    const stale = await eventsUntil(inbox, (e) => e.type === 'device-list-stale');
    assert.deepEqual(stale, { type: 'device-list-stale', name: 'bob', announced: 3, trusted: 2 });
    await assert.rejects(alice.sendAndWait('bob', 'to the stale list?'), (err) =>
      isClientError(err, 'INVALID_DEVICE_LIST'),
    );
    assert.deepEqual(replay.captured, [], 'nothing was encrypted to the removed device');
  });
});
