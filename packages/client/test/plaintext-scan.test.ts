import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ParleyClient, registerAccount } from '@parley/client';
import { fromBase64Url, utf8 } from '@parley/protocol';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';
import { type RecordingProxy, startRecordingProxy } from './helpers/recording-proxy.ts';
import { contains, privateKeysOf, trafficViews } from './helpers/scan.ts';

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
    // Group traffic: the group's name and messages are plaintext the server must not see either.
    const groupName = unique('group-name');
    sent.push(groupName);
    const groupInbox = bob.events();
    const { id } = await alice.createGroup(groupName, ['bob']);
    for (let i = 0; i < 3; i++) {
      const text = unique(`group-${i}`);
      sent.push(text);
      await alice.sendToGroup(id, text);
    }
    await collect(groupInbox, 4);
    await alice.idle();
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
    const files = readdirSync(world.dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));
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
      ...readdirSync(world.dataDir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => new Uint8Array(readFileSync(join(e.parentPath, e.name)))),
    ];
    for (const k of keys) assert.ok(!views.some((v) => contains(v, k)), 'a private key reached the server');
  });
});
