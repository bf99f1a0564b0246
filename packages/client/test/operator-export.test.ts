import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { utf8 } from '@parley/protocol';
import { exportAccount, SQLITE_FILE } from '@parley/server';
import Database from 'better-sqlite3';
import { collect, createWorld, type TestWorld } from './helpers/env.ts';
import { contains, privateKeysOf } from './helpers/scan.ts';

const BIN = new URL('../../cli/bin/parley.js', import.meta.url).pathname;

/** Every row of every table as one string per row (the whole database, as a thief would read it). */
function dumpDatabase(file: string): string[] {
  const db = new Database(file, { readonly: true });
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
    (t) => t.name,
  );
  const rows = tables.flatMap((t) =>
    (db.prepare(`SELECT * FROM ${t}`).all() as Record<string, unknown>[]).map((r) =>
      Object.values(r)
        .map((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : String(v)))
        .join('\u0000'),
    ),
  );
  db.close();
  return rows;
}

describe('what the operator can hand over: parley admin export', () => {
  let world: TestWorld;
  const secrets = [
    'the vault code is 4417',
    'meet at the old mill',
    'queued: bring the documents',
    'group secret: the boat leaves at dawn',
  ];
  const groupName = 'Harbour Watch Committee';
  let exported: string;

  before(async () => {
    world = await createWorld();
    const alice = await world.register('alice');
    const bob = await world.register('bob');
    await world.register('carol');
    const inbox = bob.events();
    await alice.sendAndWait('bob', secrets[0] as string);
    await alice.sendAndWait('bob', secrets[1] as string);
    await collect(inbox, 2);
    // A group: its name, admins and members are encrypted group state; its messages ciphertext.
    const groupInbox = bob.events();
    const { id } = await alice.createGroup(groupName, ['bob']);
    await alice.sendToGroup(id, secrets[3] as string);
    assert.ok((await collect(groupInbox, 2)).includes(secrets[3] as string));
    await alice.idle();
    // carol is in alice's contacts (she looked up the safety number) but they never talked.
    await alice.markVerified('carol', (await alice.safety('carol')).safetyNumber.digits);
    await bob.close();
    await alice.sendAndWait('bob', secrets[2] as string); // stays queued: bob is offline
    const run = spawnSync(process.execPath, [BIN, 'admin', 'export', 'alice', '--data', world.dataDir], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    exported = run.stdout;
  });
  after(async () => world.close());

  it('lists what is held: creation, keys, devices, queued metadata, recent send ids, and what is not kept', () => {
    const doc = JSON.parse(exported);
    assert.equal(doc.account, 'alice');
    assert.equal(doc.devices.length, 1);
    assert.equal(doc.queuedFromAccount.count, 1, 'the message waiting for bob');
    assert.equal(doc.queuedFromAccount.messages[0].to, 'bob');
    assert.ok(doc.queuedFromAccount.messages[0].bytes > 0);
    assert.equal(doc.recentSendIds.length, 5, 'three 1:1 sends, the commit adding bob, one group message');
    assert.equal(doc.groups.length, 1, 'the group id alice receives for');
    assert.ok(doc.notKept.some((s: string) => /private keys/.test(s)));
  });

  it('neither the export nor a full dump of the database holds plaintext, private keys, the contact list or group names', () => {
    const rows = dumpDatabase(join(world.dataDir, SQLITE_FILE));
    const everything = [exported, ...rows].map((t) => new Uint8Array(Buffer.from(t, 'latin1')));
    assert.ok(
      rows.some((r) => r.includes('alice')),
      'control: the dump does contain alice’s rows',
    );
    for (const secret of secrets) {
      for (const blob of everything) assert.ok(!contains(blob, utf8(secret)), 'plaintext held by the server');
    }
    for (const k of [...privateKeysOf(world.home('alice')), ...privateKeysOf(world.home('bob'))]) {
      for (const blob of everything) assert.ok(!contains(blob, k), 'a private key held by the server');
    }
    for (const blob of everything) assert.ok(!contains(blob, utf8(groupName)), 'the group name held by the server');
    // alice's contact carol: nothing ties them together.
    assert.ok(!exported.includes('carol'));
    assert.ok(!rows.some((r) => r.includes('alice') && r.includes('carol')), 'a row links alice and carol');
  });
});

describe('retention: the operator can keep less', () => {
  it('with --send-log-hours 0 the export holds no send ids after the next purge', async () => {
    const world = await createWorld({ limits: { sendLogRetentionMs: 0 } });
    try {
      const alice = await world.register('alice');
      await world.register('bob');
      await alice.sendAndWait('bob', 'hello');
      assert.equal((await exportAccount(world.server.storage, 'alice'))?.recentSendIds.length, 1);
      await new Promise((r) => setTimeout(r, 5));
      await world.server.purge();
      assert.deepEqual((await exportAccount(world.server.storage, 'alice'))?.recentSendIds, []);
    } finally {
      await world.close();
    }
  });
});
