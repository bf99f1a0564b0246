/**
 * A hostile server: a proxy in front of the real relay rewrites what clients receive, as a
 * malicious operator could. Each test is named after the attack; docs/threat-model.md maps
 * each one here.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type ClientEvent, isClientError } from '@parley/client';
import {
  decodePreKeyBundle,
  decodeSignedDeviceList,
  encodePreKeyBundle,
  encodeSignedDeviceList,
  fromBase64Url,
  toBase64Url,
} from '@parley/protocol';
import { collect } from './helpers/env.ts';
import { hostileWorld } from './helpers/hostile-world.ts';
import type { Rewrite } from './helpers/recording-proxy.ts';

type Frame = Record<string, unknown> & { type?: string; result?: Record<string, unknown> };

/** Rewrites the signed device list in every response that carries one. */
function rewriteDeviceLists(edit: (list: Uint8Array) => Uint8Array): Rewrite {
  return (d, toServer) => {
    if (toServer) return [d];
    const f = JSON.parse(d) as Frame;
    const list = f.result?.deviceList;
    if (f.type !== 'response' || typeof list !== 'string') return [d];
    (f.result as Record<string, unknown>).deviceList = toBase64Url(edit(fromBase64Url('deviceList', list)));
    return [JSON.stringify(f)];
  };
}

/** Rewrites the `result` of responses that carry bundles. */
function rewriteBundles(edit: (bundle: Uint8Array) => Uint8Array): Rewrite {
  return (d, toServer) => {
    if (toServer) return [d];
    const f = JSON.parse(d) as Frame;
    const bundles = f.result?.bundles as { device: number; bundle: string }[] | undefined;
    if (f.type !== 'response' || bundles === undefined) return [d];
    for (const b of bundles) b.bundle = toBase64Url(edit(fromBase64Url('bundle', b.bundle)));
    return [JSON.stringify(f)];
  };
}

async function eventsUntil(
  events: AsyncIterableIterator<ClientEvent>,
  done: (seen: ClientEvent[]) => boolean,
  ms = 15_000,
) {
  const seen: ClientEvent[] = [];
  const timer = setTimeout(() => void events.return?.(), ms);
  for await (const e of events) {
    seen.push(e);
    if (done(seen)) break;
  }
  clearTimeout(timer);
  return seen;
}

const texts = (seen: ClientEvent[]) => seen.flatMap((e) => (e.type === 'message' ? [e.message.text] : []));

describe('hostile server', () => {
  const worlds: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const w of worlds) await w.close();
  });

  it('substitutes a device identity in the prekey bundle → refused, nothing sent', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('alice');
    await h.register('bob');
    await h.register('mallory');

    // The server serves mallory's bundle (a key it controls) as bob's.
    const malloryBundle = await new Promise<Uint8Array>((resolve) => {
      h.setRule((d, toServer) => {
        const f = JSON.parse(d) as Frame;
        const b = (f.result?.bundles as { bundle: string }[] | undefined)?.[0];
        if (!toServer && b !== undefined) resolve(fromBase64Url('bundle', b.bundle));
        return [d];
      });
      void alice.sendAndWait('mallory', 'hello mallory');
    });
    h.setRule(rewriteBundles(() => malloryBundle));
    await assert.rejects(
      alice.sendAndWait('bob', 'for bob only'),
      (err) => (err as { code?: string }).code === 'UNTRUSTED_IDENTITY',
    );
    const queued = await h.world.server.storage.queueDepth('bob', 1);
    assert.equal(queued, 0, 'nothing was queued for bob');
  });

  it('withholds one-time prekeys → the session still starts, still with ML-KEM', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('alice');
    const bob = await h.register('bob');
    h.setRule(
      rewriteBundles((b) => {
        const bundle = decodePreKeyBundle(b);
        return encodePreKeyBundle({ ...bundle, oneTimePreKey: undefined });
      }),
    );
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'without a one-time key');
    assert.deepEqual(await collect(inbox, 1), ['without a one-time key']);
  });

  it('strips the post-quantum prekey (downgrade to X3DH) → refused', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('alice');
    await h.register('bob');
    h.setRule(rewriteBundles((b) => encodePreKeyBundle({ ...decodePreKeyBundle(b), kemPreKey: undefined })));
    await assert.rejects(
      alice.sendAndWait('bob', 'classical only?'),
      (err) => (err as { code?: string }).code === 'MISSING_PQ_PREKEY',
    );
  });

  it('duplicates, reorders and replays deliveries → each message shown exactly once', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('alice');
    const bob = await h.register('bob');
    const seenDeliveries: string[] = [];
    let held: string | undefined;
    h.setRule((d, toServer) => {
      if (toServer) return [d];
      const f = JSON.parse(d) as Frame;
      if (f.type !== 'deliver') return [d];
      seenDeliveries.push(d);
      // Hold every other delivery back and release it after the next; send each twice; and
      // replay the first delivery ever seen each time.
      if (held === undefined) {
        held = d;
        return [];
      }
      const out = [d, d, held, held, seenDeliveries[0] as string];
      held = undefined;
      return out;
    });
    const inbox = bob.events();
    const sent = Array.from({ length: 6 }, (_, i) => `message ${i}`);
    for (const t of sent) await alice.sendAndWait('bob', t);
    const seen = await eventsUntil(inbox, (s) => texts(s).length >= sent.length);
    assert.deepEqual([...texts(seen)].sort(), [...sent].sort());
    await new Promise((r) => setTimeout(r, 300));
    const history = bob.history('alice').map((m) => m.text);
    assert.deepEqual([...history].sort(), [...sent].sort(), 'stored once each');
  });

  it('flips a bit of a ciphertext → typed failure, retry, message delivered once, session intact', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('alice');
    const bob = await h.register('bob');
    const warm = bob.events();
    await alice.sendAndWait('bob', 'warm-up');
    await collect(warm, 1);
    const back = alice.events();
    await bob.sendAndWait('alice', 'reply'); // alice's next messages are plain ratchet messages
    await collect(back, 1);
    let tampered = false;
    h.setRule((d, toServer) => {
      const f = JSON.parse(d) as Frame & { body?: string; kind?: string };
      if (toServer || tampered || f.type !== 'deliver' || f.kind !== 'ratchet') return [d];
      tampered = true;
      const body = fromBase64Url('body', f.body);
      body[body.length - 20] = (body[body.length - 20] as number) ^ 0x01;
      return [JSON.stringify({ ...f, body: toBase64Url(body) })];
    });
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'tamper target');
    await alice.sendAndWait('bob', 'and after');
    const seen = await eventsUntil(inbox, (s) => texts(s).includes('tamper target') && texts(s).includes('and after'));
    assert.ok(tampered);
    assert.ok(
      seen.some((e) => e.type === 'undecryptable'),
      'the tampered copy was refused',
    );
    assert.deepEqual([...texts(seen)].sort(), ['and after', 'tamper target']);
  });

  it('injects a message from a device the sender never listed → dropped with a warning', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('alice');
    const bob = await h.register('bob');
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'real one');
    await collect(inbox, 1);
    let injected = false;
    h.setRule((d, toServer) => {
      const f = JSON.parse(d) as Frame;
      if (toServer || injected || f.type !== 'deliver') return [d];
      injected = true;
      return [d, JSON.stringify({ ...f, seq: (f.seq as number) + 100000, fromDevice: 7 })];
    });
    const events = bob.events();
    await alice.sendAndWait('bob', 'second real one');
    const seen = await eventsUntil(events, (s) => s.some((e) => e.type === 'unlisted-device') && texts(s).length >= 1);
    assert.deepEqual(texts(seen), ['second real one']);
    assert.ok(seen.some((e) => e.type === 'unlisted-device' && e.from === 'alice' && e.fromDevice === 7));
  });

  it('adds a device of its own to the served device list → refused (the account key did not sign it)', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('alice');
    await h.register('bob');
    await h.register('mallory');
    const ghost = (await h.world.server.storage.listDevices('mallory'))[0]?.identity as Uint8Array;
    h.setRule(
      rewriteDeviceLists((bytes) => {
        const list = decodeSignedDeviceList(bytes);
        return encodeSignedDeviceList({ ...list, devices: [...list.devices, { id: 2, identity: ghost }] });
      }),
    );
    await assert.rejects(alice.sendAndWait('bob', 'for bob only'), (err) => isClientError(err, 'INVALID_DEVICE_LIST'));
    assert.equal(await h.world.server.storage.queueDepth('bob', 2), 0);
  });

  it('rolls the device list back to an older signed version → refused', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('alice');
    const bob = await h.register('bob');
    let first: string | undefined;
    h.setRule((d, toServer) => {
      const f = JSON.parse(d) as Frame;
      const list = f.result?.deviceList;
      if (!toServer && typeof list === 'string' && first === undefined) first = list;
      return [d];
    });
    const inbox = bob.events();
    await alice.sendAndWait('bob', 'hello');
    await collect(inbox, 1);
    await h.link(bob, 'bob-laptop'); // version 2
    await alice.sendAndWait('bob', 'to both'); // alice learns version 2 (the server reports the new device)
    // Now the server claims bob's devices changed and serves version 1 again.
    const served = first as string;
    h.setRule((d, toServer) => {
      if (toServer) return [d];
      const f = JSON.parse(d) as Frame;
      if (f.type === 'response' && f.result?.serverTime !== undefined) {
        const details = { devices: [1], missing: [], extra: [2], changed: [] };
        return [JSON.stringify({ type: 'error', id: f.id, code: 'STALE_DEVICES', message: 'stale', details })];
      }
      if (f.type === 'response' && typeof f.result?.deviceList === 'string') {
        (f.result as Record<string, unknown>).deviceList = served;
        return [JSON.stringify(f)];
      }
      return [d];
    });
    await assert.rejects(alice.sendAndWait('bob', 'after the rollback'), (err) =>
      isClientError(err, 'INVALID_DEVICE_LIST'),
    );
  });
});
