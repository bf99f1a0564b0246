/**
 * Never going back to an older device list (docs/protocol.md §10, "Never go back"): the stamp
 * every one-to-one content carries, the removal notice, the claims a stamp opens, and what the
 * directory does with them, against a fake relay link that serves whatever the test says.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  encodeDeviceIdentityPublic,
  encodeSignedDeviceList,
  generateAccountIdentity,
  generateDeviceIdentity,
  type SignedDeviceList,
  signDeviceList,
  toBase64Url,
  utf8,
} from '@parley/protocol';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import { decodeContent, decodeDeviceListContent, decodeListStamp, encodeContent } from '../../src/content.ts';
import { createDirectory } from '../../src/directory/directory.ts';
import { createListClaims, deviceListHash, satisfies } from '../../src/directory/list-claims.ts';
import { isClientError } from '../../src/errors.ts';
import { type ClientEvent, createEventHub } from '../../src/events.ts';
import { openBetterSqlite3Home } from '../../src/home/better-sqlite3-home-database.ts';
import { createContacts } from '../../src/home/contacts.ts';
import type { Profile } from '../../src/home/profile.ts';
import type { RelayLink } from '../../src/relay/relay-link.ts';

const provider = createNodeCryptoProvider();
const random = createNodeRandom();
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ID = 'AAECAwQFBgcICQoLDA0ODw';
const HASH = 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80';

/** Pads `json` as encodeContent does. */
function padded(json: string): Uint8Array {
  const body = utf8(json);
  const out = new Uint8Array(Math.ceil((body.length + 1) / 160) * 160);
  out.set(body);
  out[body.length] = 0x80;
  return out;
}

/** An account key and signed lists of it: each `lists[i]` names devices `ids[i]` at version i + 1. */
async function account(...ids: number[][]) {
  const key = await generateAccountIdentity(provider, random);
  const identities = new Map<number, Uint8Array>();
  const identity = async (id: number) => {
    let i = identities.get(id);
    if (i === undefined) {
      i = encodeDeviceIdentityPublic((await generateDeviceIdentity(provider, random)).publicIdentity);
      identities.set(id, i);
    }
    return i;
  };
  const lists: SignedDeviceList[] = [];
  for (const [i, devices] of ids.entries()) {
    const entries = await Promise.all(devices.map(async (id) => ({ id, identity: await identity(id) })));
    lists.push(await signDeviceList(provider, key.privateKey, i + 1, entries));
  }
  return { key, lists };
}

/** A directory for `alice` whose fake link serves `served.get(name)` for `get-account`. */
async function setup() {
  const home = mkdtempSync(join(tmpdir(), 'parley-stamp-'));
  dirs.push(home);
  const db = openBetterSqlite3Home(home);
  const contacts = createContacts(db, provider);
  const me = await account([1, 2], [1]);
  let profile: Profile = {
    name: 'alice',
    server: 'http://127.0.0.1:1',
    device: 1,
    registered: true,
    accountKey: me.key.publicKey,
    account: me.key,
    identity: await generateDeviceIdentity(provider, random),
    deviceList: me.lists[0] as SignedDeviceList,
  };
  const served = new Map<string, { accountKey: string; deviceList: string }>();
  const link: RelayLink = {
    async request(op, args) {
      assert.equal(op, 'get-account');
      const r = served.get((args as { name: string }).name);
      if (r === undefined) throw new Error('no such account in this fake');
      return r as never;
    },
    ack() {},
    isConnected: () => true,
    close() {},
  };
  const events = createEventHub();
  const seen: ClientEvent[] = [];
  void (async () => {
    for await (const e of events.subscribe()) seen.push(e);
  })();
  const dropped: { name: string; devices: number[] }[] = [];
  const directory = createDirectory({
    provider,
    clock: () => 1000,
    contacts,
    claims: createListClaims(db),
    events,
    keyChangePolicy: () => 'block-verified',
    sendHolds: { get: () => false, set: () => {} },
    profile: () => profile,
    setOwnList: (list) => {
      profile = { ...profile, deviceList: list };
    },
    link: () => link,
    noteKeyChange: () => {},
    keyReplaced: () => {},
    devicesDropped: (name, devices) => dropped.push({ name, devices: devices.map((d) => d.id) }),
  });
  const serve = (name: string, a: { key: { publicKey: Uint8Array } }, list: SignedDeviceList) =>
    served.set(name, {
      accountKey: toBase64Url(a.key.publicKey),
      deviceList: toBase64Url(encodeSignedDeviceList(list)),
    });
  const flush = () => new Promise((r) => setImmediate(r));
  return { directory, db, me, seen, dropped, serve, flush, profile: () => profile };
}

const hashOf = (list: SignedDeviceList) => toBase64Url(deviceListHash(list));

describe('the device-list stamp and notice on the wire', () => {
  it('encodes the stamp after the content fields, and decodes it from any content', () => {
    const bytes = encodeContent({ v: 1, id: ID, ts: 5, text: 'hi', dlv: 3, dlh: HASH });
    const json = utf8(`{"v":1,"id":"${ID}","ts":5,"text":"hi","dlv":3,"dlh":"${HASH}"}`);
    assert.deepEqual(bytes, padded(`{"v":1,"id":"${ID}","ts":5,"text":"hi","dlv":3,"dlh":"${HASH}"}`));
    assert.equal(bytes.length, 160);
    assert.equal(bytes[json.length], 0x80);
    assert.deepEqual(decodeListStamp(bytes), { version: 3, hash: HASH });
    assert.deepEqual(decodeContent(bytes), { v: 1, id: ID, ts: 5, text: 'hi' });
    const receipt = padded(`{"v":1,"id":"${ID}","ts":5,"receipt":"read","ids":["${ID}"],"dlv":7,"dlh":"${HASH}"}`);
    assert.deepEqual(decodeListStamp(receipt), { version: 7, hash: HASH });
  });

  it('a content without a stamp has none; a malformed stamp is reported as such', () => {
    assert.equal(decodeListStamp(padded(`{"v":1,"id":"${ID}","ts":5,"text":"old sender"}`)), undefined);
    for (const stamp of [
      '"dlv":0,"dlh":"HASH"',
      '"dlv":1.5,"dlh":"HASH"',
      '"dlv":"3","dlh":"HASH"',
      '"dlv":3',
      '"dlh":"HASH"',
      '"dlv":3,"dlh":"short"',
      '"dlv":3,"dlh":"HASH=="',
    ]) {
      const json = `{"v":1,"id":"${ID}","ts":5,"text":"x",${stamp.replace('HASH', HASH)}}`;
      assert.equal(decodeListStamp(padded(json)), 'malformed', stamp);
    }
  });

  it('decodes the removal notice, which the text and receipt decoders refuse', () => {
    const bytes = encodeContent({ v: 1, id: ID, ts: 5, deviceList: 'AAAA', dlv: 2, dlh: HASH });
    assert.deepEqual(decodeDeviceListContent(bytes), { v: 1, id: ID, ts: 5, deviceList: 'AAAA' });
    assert.equal(decodeContent(bytes), undefined);
    assert.equal(decodeDeviceListContent(encodeContent({ v: 1, id: ID, ts: 5, text: 'hi' })), undefined);
    assert.equal(decodeDeviceListContent(padded(`{"v":1,"id":"${ID}","ts":5,"deviceList":""}`)), undefined);
    assert.equal(decodeDeviceListContent(padded(`{"v":2,"id":"${ID}","ts":5,"deviceList":"AAAA"}`)), undefined);
  });
});

describe('device-list claims', () => {
  it('a newer version, or the same version with the same hash, answers a claim', async () => {
    const bob = await account([1, 2], [1], [1, 3]);
    const [v1, v2, v3] = bob.lists as [SignedDeviceList, SignedDeviceList, SignedDeviceList];
    const claim = { version: 2, hash: deviceListHash(v2) };
    assert.equal(satisfies(v1, claim), false);
    assert.equal(satisfies(v2, claim), true);
    assert.equal(satisfies(v3, claim), true);
    assert.equal(satisfies(v2, { version: 2, hash: deviceListHash(v3) }), false, 'same version, another list');
  });

  it('keeps the highest claimed version', async () => {
    const { db } = await setup();
    const claims = createListClaims(db);
    const h = (b: number) => new Uint8Array(32).fill(b);
    claims.raise('bob', { version: 3, hash: h(3) });
    claims.raise('bob', { version: 2, hash: h(2) });
    claims.raise('bob', { version: 3, hash: h(9) });
    assert.deepEqual(claims.get('bob'), { version: 3, hash: h(3) });
    claims.raise('bob', { version: 4, hash: h(4) });
    assert.deepEqual(claims.get('bob'), { version: 4, hash: h(4) });
    claims.clear('bob');
    assert.equal(claims.get('bob'), undefined);
  });
});

describe('the directory never goes back', () => {
  it('stamps with our own list’s version and hash, following our list', async () => {
    const t = await setup();
    const [v1, v2] = t.me.lists as [SignedDeviceList, SignedDeviceList];
    assert.deepEqual(t.directory.ownStamp(), { dlv: 1, dlh: hashOf(v1) });
    t.serve('alice', t.me, v2);
    await t.directory.refresh('alice');
    assert.deepEqual(t.directory.ownStamp(), { dlv: 2, dlh: hashOf(v2) });
  });

  it('a stamp newer than the pinned list while the server serves the old one: stale, sends refused; the newer list answers it', async () => {
    const t = await setup();
    const bob = await account([1, 2], [1]);
    const [v1, v2] = bob.lists as [SignedDeviceList, SignedDeviceList];
    t.serve('bob', bob, v1);
    await t.directory.requireTrusted('bob');
    await t.directory.noteAnnounced('bob', 2, hashOf(v2));
    await t.flush();
    assert.deepEqual(
      t.seen.filter((e) => e.type === 'device-list-stale'),
      [{ type: 'device-list-stale', name: 'bob', announced: 2, trusted: 1 }],
    );
    await assert.rejects(t.directory.requireTrusted('bob'), (err) => isClientError(err, 'INVALID_DEVICE_LIST'));
    assert.deepEqual(t.directory.listedDevices('bob'), [1, 2], 'the pinned list is unchanged…');
    t.serve('bob', bob, v2);
    await t.directory.requireTrusted('bob'); // …until the server serves the announced one
    assert.deepEqual(t.directory.listedDevices('bob'), [1]);
  });

  it('an older or equal stamp changes nothing and fetches nothing', async () => {
    const t = await setup();
    const bob = await account([1, 2], [1]);
    const [v1, v2] = bob.lists as [SignedDeviceList, SignedDeviceList];
    t.serve('bob', bob, v2);
    await t.directory.requireTrusted('bob');
    t.serve('bob', bob, v1); // would be refused as a rollback if it were fetched
    await t.directory.noteAnnounced('bob', 1, hashOf(v1));
    await t.directory.noteAnnounced('bob', 2, hashOf(v2));
    await t.directory.requireTrusted('bob');
    await t.flush();
    assert.equal(t.seen.length, 0);
  });

  it('takes a newer notice signed by the pinned key, drops the removed device’s sessions, and ignores older ones', async () => {
    const t = await setup();
    const bob = await account([1, 2], [1], [1, 3]);
    const [v1, v2, v3] = bob.lists as [SignedDeviceList, SignedDeviceList, SignedDeviceList];
    t.serve('bob', bob, v1);
    await t.directory.requireTrusted('bob');
    assert.equal(await t.directory.adoptNotice('bob', encodeSignedDeviceList(v2)), true);
    assert.deepEqual(t.directory.listedDevices('bob'), [1]);
    assert.deepEqual(t.dropped, [{ name: 'bob', devices: [2] }]);
    assert.equal(await t.directory.adoptNotice('bob', encodeSignedDeviceList(v1)), false, 'never go back');
    assert.equal(await t.directory.adoptNotice('bob', encodeSignedDeviceList(v2)), false, 'nothing new');
    await assert.rejects(t.directory.refresh('bob'), (err) => isClientError(err, 'INVALID_DEVICE_LIST'));
    assert.equal(await t.directory.adoptNotice('bob', encodeSignedDeviceList(v3)), true);
    assert.deepEqual(t.directory.listedDevices('bob'), [1, 3]);
  });

  it('refuses a notice another key signed, and takes our own account’s notice into our own list', async () => {
    const t = await setup();
    const bob = await account([1, 2]);
    const mallory = await account([1], [1, 5]);
    t.serve('bob', bob, bob.lists[0] as SignedDeviceList);
    await t.directory.requireTrusted('bob');
    assert.equal(
      await t.directory.adoptNotice('bob', encodeSignedDeviceList(mallory.lists[1] as SignedDeviceList)),
      false,
    );
    assert.equal(await t.directory.adoptNotice('bob', utf8('not a list')), false);
    assert.deepEqual(t.directory.listedDevices('bob'), [1, 2]);
    assert.equal(
      await t.directory.adoptNotice('alice', encodeSignedDeviceList(t.me.lists[1] as SignedDeviceList)),
      true,
    );
    assert.equal(t.profile().deviceList.version, 2);
    assert.deepEqual(t.directory.listedDevices('alice'), []);
  });
});
