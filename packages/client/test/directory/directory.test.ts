/**
 * The directory against a fake relay link (no server): what it pins, what it refuses, and what
 * each key-change policy does with a contact's new account key.
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
} from '@parley/protocol';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import { createDirectory, type KeyChangePolicy } from '../../src/directory/directory.ts';
import { createListClaims } from '../../src/directory/list-claims.ts';
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

/** An account: its key pair and a signed list of `devices` device ids at `version`. */
async function account(devices: number[], version = 1) {
  const key = await generateAccountIdentity(provider, random);
  const entries = await Promise.all(
    devices.map(async (id) => ({
      id,
      identity: encodeDeviceIdentityPublic((await generateDeviceIdentity(provider, random)).publicIdentity),
    })),
  );
  const list = await signDeviceList(provider, key.privateKey, version, entries);
  return { key, entries, list };
}

const served = (a: { key: { publicKey: Uint8Array } }, list: SignedDeviceList) => ({
  accountKey: toBase64Url(a.key.publicKey),
  deviceList: toBase64Url(encodeSignedDeviceList(list)),
});

/** A directory for `alice` whose fake link serves `accounts[name]` for `get-account`. */
async function setup(policy: KeyChangePolicy) {
  const home = mkdtempSync(join(tmpdir(), 'parley-directory-'));
  dirs.push(home);
  const db = openBetterSqlite3Home(home);
  const contacts = createContacts(db, provider);
  const me = await account([1, 2]);
  const identity = await generateDeviceIdentity(provider, random);
  let profile: Profile = {
    name: 'alice',
    server: 'http://127.0.0.1:1',
    device: 1,
    registered: true,
    accountKey: me.key.publicKey,
    account: me.key,
    identity,
    deviceList: me.list,
  };
  const servedAccounts = new Map<string, { accountKey: string; deviceList: string }>();
  const link: RelayLink = {
    async request(op, args) {
      assert.equal(op, 'get-account');
      const r = servedAccounts.get((args as { name: string }).name);
      if (r === undefined) throw new Error('no such account in this fake');
      return r as never;
    },
    ack() {},
    isConnected: () => true,
    close() {},
  };
  const events = createEventHub();
  const seen: ClientEvent[] = [];
  const sub = events.subscribe();
  void (async () => {
    for await (const e of sub) seen.push(e);
  })();
  const replaced: { name: string; devices: number[] }[] = [];
  const notes: string[] = [];
  const holds = new Map<string, boolean>();
  const directory = createDirectory({
    provider,
    clock: () => 1000,
    contacts,
    claims: createListClaims(db),
    events,
    keyChangePolicy: () => policy,
    sendHolds: { get: (name) => holds.get(name) ?? false, set: (name, held) => void holds.set(name, held) },
    profile: () => profile,
    setOwnList: (list) => {
      profile = { ...profile, deviceList: list };
    },
    link: () => link,
    noteKeyChange: (name) => void notes.push(name),
    keyReplaced: (name, oldDevices) => void replaced.push({ name, devices: oldDevices.map((d) => d.id) }),
    devicesDropped: () => {},
  });
  const flush = () => new Promise((r) => setImmediate(r));
  return {
    directory,
    contacts,
    servedAccounts,
    me,
    seen,
    replaced,
    notes,
    flush,
    profile: () => profile,
    close: () => db.close(),
  };
}

describe('the directory', () => {
  it('pins a contact on first sight and lists its signed devices', async () => {
    const t = await setup('block-verified');
    const bob = await account([1, 3]);
    t.servedAccounts.set('bob', served(bob, bob.list));
    await t.directory.requireTrusted('bob');
    assert.deepEqual(t.directory.listedDevices('bob'), [1, 3]);
    assert.deepEqual(t.directory.listedIdentity('bob', 3), bob.entries[1]?.identity);
    // Our own list, minus this device.
    assert.deepEqual(t.directory.listedDevices('alice'), [2]);
    t.close();
  });

  it('refuses an older list under the pinned key (rollback), and takes a newer one', async () => {
    const t = await setup('block-verified');
    const bob = await account([1], 2);
    t.servedAccounts.set('bob', served(bob, bob.list));
    await t.directory.refresh('bob');
    const older = await signDeviceList(provider, bob.key.privateKey, 1, [...bob.entries]);
    t.servedAccounts.set('bob', served(bob, older));
    await assert.rejects(t.directory.refresh('bob'), (err) => isClientError(err, 'INVALID_DEVICE_LIST'));
    const newer = await signDeviceList(provider, bob.key.privateKey, 3, [...bob.entries]);
    t.servedAccounts.set('bob', served(bob, newer));
    await t.directory.refresh('bob');
    assert.equal(t.directory.contact('bob')?.deviceList.version, 3);
    t.close();
  });

  it('refuses our own list under another key, and an older own list; takes a newer one', async () => {
    const t = await setup('block-verified');
    const stranger = await account([1, 2]);
    t.servedAccounts.set('alice', served(stranger, stranger.list));
    await assert.rejects(t.directory.refresh('alice'), (err) => isClientError(err, 'INVALID_DEVICE_LIST'));
    const entries = [...t.me.entries];
    const v2 = await signDeviceList(provider, t.me.key.privateKey, 2, entries);
    t.servedAccounts.set('alice', served(t.me, v2));
    await t.directory.refresh('alice');
    assert.equal(t.profile().deviceList.version, 2);
    t.servedAccounts.set('alice', served(t.me, t.me.list));
    await assert.rejects(t.directory.refresh('alice'), (err) => isClientError(err, 'INVALID_DEVICE_LIST'));
    t.close();
  });

  it('block-verified: an unverified contact’s new key is noted, reported and adopted; sends stay held until one was held', async () => {
    const t = await setup('block-verified');
    const bob = await account([1]);
    t.servedAccounts.set('bob', served(bob, bob.list));
    await t.directory.refresh('bob');
    const reinstalled = await account([1]);
    t.servedAccounts.set('bob', served(reinstalled, reinstalled.list));
    // The discovering refresh: noted first, adopted for receiving, but sends are held.
    await assert.rejects(t.directory.refresh('bob'), (err) => isClientError(err, 'UNTRUSTED_IDENTITY'));
    await t.flush();
    assert.deepEqual(t.notes, ['bob']);
    assert.deepEqual(t.seen, [{ type: 'identity-changed', name: 'bob', verified: false }]);
    assert.deepEqual(t.replaced, [{ name: 'bob', devices: [1] }]);
    await assert.rejects(t.directory.requireTrusted('bob'), (err) => isClientError(err, 'UNTRUSTED_IDENTITY'));
    // A send was held and the user told: later sends go through (Signal's rule).
    t.directory.changeShown('bob');
    await t.directory.requireTrusted('bob');
    await t.directory.refresh('bob');
    assert.deepEqual(t.notes, ['bob'], 'noted once');
    t.close();
  });

  it('block-verified: a verified contact’s new key blocks until verified again; acceptChange is refused', async () => {
    const t = await setup('block-verified');
    const bob = await account([1]);
    t.servedAccounts.set('bob', served(bob, bob.list));
    await t.directory.refresh('bob');
    t.contacts.setVerified('bob', true);
    const reinstalled = await account([1]);
    t.servedAccounts.set('bob', served(reinstalled, reinstalled.list));
    await assert.rejects(t.directory.refresh('bob'), (err) => isClientError(err, 'UNTRUSTED_IDENTITY'));
    t.directory.changeShown('bob');
    await assert.rejects(t.directory.requireTrusted('bob'), (err) => isClientError(err, 'UNTRUSTED_IDENTITY'));
    await t.flush();
    assert.deepEqual(t.seen, [{ type: 'identity-changed', name: 'bob', verified: true }]);
    assert.deepEqual(t.replaced, [], 'nothing replaced before the user verifies');
    assert.throws(
      () => t.directory.acceptChange('bob'),
      (err) => isClientError(err, 'UNTRUSTED_IDENTITY'),
    );
    t.directory.verified('bob');
    assert.deepEqual(t.replaced, [{ name: 'bob', devices: [1] }]);
    assert.equal(t.directory.contact('bob')?.verified, true);
    await t.directory.requireTrusted('bob');
    t.close();
  });

  it('hold-all: every new key holds sending until the user accepts it', async () => {
    const t = await setup('hold-all');
    const bob = await account([1]);
    t.servedAccounts.set('bob', served(bob, bob.list));
    await t.directory.refresh('bob');
    const reinstalled = await account([1, 2]);
    t.servedAccounts.set('bob', served(reinstalled, reinstalled.list));
    await assert.rejects(t.directory.refresh('bob'), (err) => isClientError(err, 'UNTRUSTED_IDENTITY'));
    t.directory.changeShown('bob');
    await assert.rejects(t.directory.requireTrusted('bob'), (err) => isClientError(err, 'UNTRUSTED_IDENTITY'));
    assert.deepEqual(t.notes, ['bob']);
    assert.deepEqual(t.directory.listedDevices('bob'), [1], 'the old list stays trusted until accepted');
    t.directory.acceptChange('bob');
    assert.deepEqual(t.replaced, [{ name: 'bob', devices: [1] }]);
    assert.deepEqual(t.directory.listedDevices('bob'), [1, 2]);
    await t.directory.requireTrusted('bob');
    t.close();
  });
});
