import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HOME_DB_FILE, type ParleyClient, registerAccount } from '@parley/client';
import {
  decodeAccountIdentityRecord,
  decodeDeviceIdentityRecord,
  decodeKemPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodeSignedPreKeyRecord,
  fromBase64Url,
  utf8,
} from '@parley/protocol';
import Database from 'better-sqlite3';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';
import { type RecordingProxy, startRecordingProxy } from './helpers/recording-proxy.ts';

function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle)) >= 0;
}

/** Every string in a JSON value. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) strings(v, out);
  return out;
}

/** The frame text and every base64url field decoded: the server's traffic as bytes it could read. */
function trafficViews(frames: readonly { data: string }[]): Uint8Array[] {
  const views: Uint8Array[] = [];
  for (const f of frames) {
    views.push(utf8(f.data));
    for (const s of strings(JSON.parse(f.data))) {
      try {
        views.push(fromBase64Url('field', s));
      } catch {
        // not base64url: already covered by the raw text
      }
    }
  }
  return views;
}

/** The private keys a client's home holds (identity, account, prekeys). */
function privateKeysOf(home: string): Uint8Array[] {
  const db = new Database(join(home, HOME_DB_FILE), { readonly: true });
  const get = (k: string) =>
    new Uint8Array((db.prepare('SELECT value FROM profile WHERE key = ?').get(k) as { value: Buffer }).value);
  const account = decodeAccountIdentityRecord(get('account_identity'));
  const device = decodeDeviceIdentityRecord(get('device_identity'));
  const keys = [account.privateKey, device.signingPrivateKey, device.dhPrivateKey];
  const rows = (table: string) =>
    (db.prepare(`SELECT record FROM ${table}`).all() as { record: Buffer }[]).map((r) => new Uint8Array(r.record));
  for (const r of rows('signed_prekeys')) keys.push(decodeSignedPreKeyRecord(r).privateKey);
  for (const r of rows('one_time_prekeys')) keys.push(decodeOneTimePreKeyRecord(r).privateKey);
  for (const r of rows('kem_prekeys')) keys.push(decodeKemPreKeyRecord(r).secretKey.slice(0, 64));
  db.close();
  return keys;
}

describe('the server never sees plaintext or private keys', () => {
  let world: TestWorld;
  let proxy: RecordingProxy;
  const sent: string[] = [];
  let alice: ParleyClient;
  let bob: ParleyClient;

  before(async () => {
    world = await createWorld();
    proxy = await startRecordingProxy(() => world.server.url);
    const reg = (name: string) => registerAccount({ home: world.home(name), name, server: proxy.url });
    alice = await reg('alice');
    bob = await reg('bob');
    const unique = (label: string) => `${label} ${Math.random().toString(36).slice(2)} the eagle lands at dawn`;
    const bobInbox = bob.events();
    for (let i = 0; i < 5; i++) {
      const text = unique(`a2b-${i}`);
      sent.push(text);
      await alice.sendAndWait('bob', text);
    }
    await collect(bobInbox, 5);
    const aliceInbox = alice.events();
    for (let i = 0; i < 3; i++) {
      const text = unique(`b2a-${i}`);
      sent.push(text);
      await bob.sendAndWait('alice', text);
    }
    await collect(aliceInbox, 3);
    // And some left queued for an offline device, so the database holds them when scanned.
    await bob.close();
    for (let i = 0; i < 3; i++) {
      const text = unique(`queued-${i}`);
      sent.push(text);
      await alice.sendAndWait('bob', text);
    }
  });
  after(async () => {
    await alice.close();
    await proxy.close();
    await world.close();
  });

  it('no message plaintext in any frame the server sent or received (raw or base64url-decoded)', () => {
    const views = trafficViews(proxy.frames);
    assert.ok(proxy.frames.length > 20);
    // The scan can see: names travel in the clear, and it finds them.
    assert.ok(views.some((v) => contains(v, utf8('"name":"bob"'))));
    for (const text of sent) {
      for (const needle of [utf8(text), utf8(text.split(' ')[1] as string)]) {
        assert.ok(!views.some((v) => contains(v, needle)), 'plaintext found in traffic');
      }
    }
  });

  it('no message plaintext in the database files, WAL included', () => {
    const files = readdirSync(world.dataDir).map((f) => join(world.dataDir, f));
    assert.ok(
      files.some((f) => f.endsWith('-wal')),
      'the WAL file exists and is scanned',
    );
    const blobs = files.map((f) => new Uint8Array(readFileSync(f)));
    // The scan can see: a queued ciphertext body the server delivered is in its files.
    const queued = proxy.frames.filter((f) => f.toServer && f.data.includes('"op":"send"')).at(-1);
    const body = fromBase64Url('body', JSON.parse(queued?.data ?? '{}').args.messages[0].body);
    assert.ok(
      blobs.some((b) => contains(b, body)),
      'control: queued ciphertext is in the database files',
    );
    for (const text of sent) {
      assert.ok(!blobs.some((b) => contains(b, utf8(text))), 'plaintext found in the database');
      assert.ok(!blobs.some((b) => contains(b, utf8(text.split(' ')[1] as string))), 'plaintext found in the database');
    }
  });

  it('no private key (identity, account, prekey) in the traffic or the database', () => {
    const keys = [...privateKeysOf(world.home('alice')), ...privateKeysOf(world.home('bob'))];
    assert.ok(keys.length > 100);
    const views = [
      ...trafficViews(proxy.frames),
      ...readdirSync(world.dataDir).map((f) => new Uint8Array(readFileSync(join(world.dataDir, f)))),
    ];
    for (const k of keys) assert.ok(!views.some((v) => contains(v, k)), 'a private key reached the server');
  });
});
