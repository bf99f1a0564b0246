import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fromBase64Url, toBase64Url } from '@parley/protocol';
import { exportAccount, type RunningServer, startServer } from '@parley/server';
import {
  addDeviceRaw,
  inviteRaw,
  type RawConnection,
  type RawDevice,
  random,
  registerRaw,
  setDevicesRaw,
} from './helpers/raw-device.ts';

/** Takes the next delivery on `conn`, acknowledges it, and returns what matters to these tests. */
async function delivery(conn: RawConnection) {
  const f = await conn.next((x) => x.type === 'deliver');
  conn.sendRaw(JSON.stringify({ v: 1, type: 'ack', seqs: [f.seq] }));
  return { from: `${f.from}/${f.fromDevice}`, kind: f.kind, body: toBase64Url(fromBase64Url('body', f.body)) };
}

/** True when nothing is queued for the device (its deliveries so far acknowledged and written). */
async function emptyQueue(server: RunningServer, d: RawDevice): Promise<boolean> {
  await new Promise((r) => setTimeout(r, 50));
  return (await server.storage.queueDepth(d.name, d.device)) === 0;
}

const member = (d: RawDevice, ...more: RawDevice[]) => ({ name: d.name, devices: [d, ...more].map((x) => x.device) });
const b64 = (n: number) => toBase64Url(random(n));
let ids = 0;
const messageId = () => `group-msg-${String(++ids).padStart(4, '0')}`;

describe('group delivery', () => {
  let dir: string;
  let server: RunningServer;
  let alice: RawDevice;
  let alice2: RawDevice;
  let bob: RawDevice;
  let carol: RawDevice;
  let dave: RawDevice;
  const groupId = b64(16);
  let epoch = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-groups-'));
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      limits: { sendRate: 1000, sendBurst: 1000, maxGroupHandshakeBytes: 1024 * 1024 },
    });
    alice = await registerRaw(server.url, 'alice');
    alice2 = await addDeviceRaw(server.url, alice, 2, 2);
    bob = await registerRaw(server.url, 'bob');
    carol = await registerRaw(server.url, 'carol');
    dave = await registerRaw(server.url, 'dave');
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const commit = (by: RawDevice, args: Record<string, unknown>) =>
    by.conn.request('group-commit', { groupId, epoch, messageId: messageId(), commit: b64(100), ...args });

  it('create, commit with welcomes, info and send across three accounts: every listed device but the sender gets it', async () => {
    assert.deepEqual((await alice.conn.request('group-create', { groupId })).result, { epoch: 0 });
    assert.equal((await bob.conn.request('group-create', { groupId })).code, 'GROUP_EXISTS');

    const welcome = b64(2000);
    const members = [member(alice, alice2), member(bob), member(carol)];
    await inviteRaw(alice, alice2, bob, carol);
    const added = await commit(alice, { members, welcome, welcomeTo: [member(alice2), member(bob), member(carol)] });
    assert.equal(added.type, 'response', JSON.stringify(added));
    assert.deepEqual({ ...(added.result as object), serverTime: 0 }, { epoch: 1, serverTime: 0, duplicate: false });
    epoch = 1;
    for (const d of [alice2, bob, carol]) {
      assert.deepEqual(await delivery(d.conn), { from: 'alice/1', kind: 'welcome', body: welcome });
    }

    const info = await bob.conn.request('group-info', { groupId });
    assert.deepEqual(info.result, { epoch: 1, members });

    const body = b64(500);
    const sent = await bob.conn.request('group-send', { groupId, messageId: messageId(), body });
    assert.equal((sent.result as { duplicate: boolean }).duplicate, false);
    for (const d of [alice, alice2, carol]) {
      assert.deepEqual(await delivery(d.conn), { from: 'bob/1', kind: 'group', body });
    }
    assert.ok(await emptyQueue(server, bob), 'the sender does not get its own message');
  });

  it('two commits on one epoch: the first wins, the other gets EPOCH_MOVED with the stored epoch', async () => {
    const members = [member(alice, alice2), member(bob), member(carol)];
    const [first, second] = await Promise.all([commit(bob, { members }), commit(carol, { members })]);
    const answers = [first, second].map((r) => (r?.type === 'response' ? 'ok' : r?.code));
    assert.deepEqual(answers.sort(), ['EPOCH_MOVED', 'ok']);
    const lost = [first, second].find((r) => r?.type === 'error');
    assert.deepEqual(lost?.details, { epoch: 2 });
    const winner = first?.type === 'response' ? bob : carol;
    for (const d of [alice, alice2, bob, carol].filter((x) => x !== winner)) {
      assert.equal((await delivery(d.conn)).kind, 'group');
    }
    epoch = 2;
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^parley_group_commits_total\{outcome="committed"\} 2$/m);
    assert.match(metrics, /^parley_group_commits_total\{outcome="epoch-moved"\} 1$/m);
  });

  it('a replayed group-commit message id is a duplicate and changes nothing', async () => {
    const args = {
      groupId,
      epoch,
      messageId: messageId(),
      commit: b64(100),
      members: [member(alice, alice2), member(bob), member(carol)],
    };
    const first = await alice.conn.request('group-commit', args);
    assert.equal((first.result as { duplicate: boolean }).duplicate, false);
    for (const d of [alice2, bob, carol]) await delivery(d.conn);
    const again = await alice.conn.request('group-commit', args);
    assert.deepEqual(
      { ...(again.result as object), serverTime: 0 },
      { epoch: epoch + 1, serverTime: 0, duplicate: true },
    );
    epoch++;
    assert.equal(((await bob.conn.request('group-info', { groupId })).result as { epoch: number }).epoch, epoch);
    for (const d of [alice2, bob, carol]) assert.ok(await emptyQueue(server, d), 'the replay queued nothing');
    const sendArgs = { groupId, messageId: messageId(), body: b64(50) };
    await bob.conn.request('group-send', sendArgs);
    assert.equal(((await bob.conn.request('group-send', sendArgs)).result as { duplicate: boolean }).duplicate, true);
    for (const d of [alice, alice2, carol]) await delivery(d.conn);
    assert.ok(await emptyQueue(server, carol), 'a replayed group-send is queued once');
  });

  it('a device not on the list gets NOT_A_MEMBER for send, commit and info; an unknown group UNKNOWN_GROUP', async () => {
    const members = [member(dave)];
    assert.equal((await commit(dave, { members })).code, 'NOT_A_MEMBER');
    assert.equal(
      (await dave.conn.request('group-send', { groupId, messageId: messageId(), body: b64(10) })).code,
      'NOT_A_MEMBER',
    );
    assert.equal((await dave.conn.request('group-info', { groupId })).code, 'NOT_A_MEMBER');
    const other = b64(16);
    assert.equal((await alice.conn.request('group-info', { groupId: other })).code, 'UNKNOWN_GROUP');
    assert.equal(
      (await alice.conn.request('group-send', { groupId: other, messageId: messageId(), body: b64(10) })).code,
      'UNKNOWN_GROUP',
    );
    assert.equal((await commit(alice, { groupId: other, members })).code, 'UNKNOWN_GROUP');
    assert.equal((await alice.conn.request('group-info', { groupId: b64(15) })).code, 'BAD_FRAME');
    assert.equal((await alice.conn.request('group-create', { groupId: b64(17) })).code, 'BAD_FRAME');
  });

  it('bad delivery lists get typed errors and change nothing', async () => {
    const base = [member(alice, alice2), member(bob), member(carol)];
    const unknown = await commit(alice, { members: [...base, { name: 'nobody', devices: [1] }] });
    assert.equal(unknown.code, 'UNKNOWN_ACCOUNT');
    assert.deepEqual(unknown.details, { name: 'nobody' });
    const stale = await commit(alice, { members: [...base.slice(1), { name: 'alice', devices: [1, 2, 7] }] });
    assert.equal(stale.code, 'STALE_DEVICES');
    assert.deepEqual(stale.details, { name: 'alice', devices: [1, 2], missing: [], extra: [7] });
    const notListed = await commit(alice, { members: base, welcome: b64(10), welcomeTo: [member(dave)] });
    assert.equal(notListed.code, 'BAD_FRAME');
    assert.equal((await commit(alice, { members: base, welcome: b64(10) })).code, 'BAD_FRAME');
    assert.equal((await commit(alice, { members: base, welcomeTo: [member(bob)] })).code, 'BAD_FRAME');
    assert.equal((await commit(alice, { members: [...base, member(bob)] })).code, 'BAD_FRAME', 'an account twice');
    assert.equal((await commit(alice, { members: [] })).code, 'BAD_FRAME');
    assert.equal((await commit(alice, { members: [{ name: 'bob', devices: [] }] })).code, 'BAD_FRAME');
    // dave never had a KeyPackage handed to alice: listing him is refused (docs/protocol.md §14.3).
    const uninvited = await commit(alice, { members: [...base, member(dave)] });
    assert.equal(uninvited.code, 'NOT_INVITED');
    assert.deepEqual(uninvited.details, { members: [member(dave)] });
    assert.equal(((await bob.conn.request('group-info', { groupId })).result as { epoch: number }).epoch, epoch);
  });

  it('sizes: a welcome of about 1 MiB fits the default frame limit; a larger one is MESSAGE_TOO_LARGE', async () => {
    const members = [member(alice, alice2), member(bob), member(carol), member(dave)];
    await inviteRaw(alice, dave);
    const tooBig = await commit(alice, { members, welcome: b64(1024 * 1024 + 1), welcomeTo: [member(dave)] });
    assert.equal(tooBig.code, 'MESSAGE_TOO_LARGE');
    const bigBody = await bob.conn.request('group-send', { groupId, messageId: messageId(), body: b64(64 * 1024 + 1) });
    assert.equal(bigBody.code, 'MESSAGE_TOO_LARGE');
    const welcome = b64(1024 * 1024 - 64);
    const added = await commit(alice, { members, welcome, welcomeTo: [member(dave)] });
    assert.equal(added.type, 'response', JSON.stringify(added).slice(0, 200));
    epoch++;
    assert.deepEqual(await delivery(dave.conn), { from: 'alice/1', kind: 'welcome', body: welcome });
    for (const d of [alice2, bob, carol]) assert.equal((await delivery(d.conn)).kind, 'group');
  });

  it('a removed member gets the commit that removes it, and no group message after it', async () => {
    const members = [member(alice, alice2), member(bob), member(dave)];
    const removed = await commit(alice, { members });
    assert.equal(removed.type, 'response');
    epoch++;
    for (const d of [alice2, bob, carol, dave]) assert.equal((await delivery(d.conn)).kind, 'group');
    const body = b64(80);
    await bob.conn.request('group-send', { groupId, messageId: messageId(), body });
    for (const d of [alice, alice2, dave]) assert.equal((await delivery(d.conn)).body, body);
    assert.ok(await emptyQueue(server, carol), 'carol was removed');
    assert.equal((await carol.conn.request('group-info', { groupId })).code, 'NOT_A_MEMBER');
  });

  it('removing a device from its account drops it from the delivery list', async () => {
    const r = await setDevicesRaw(alice, 3, []);
    assert.deepEqual(r.result, { version: 3, removed: [2] });
    const info = await bob.conn.request('group-info', { groupId });
    assert.deepEqual(info.result, { epoch, members: [member(alice), member(bob), member(dave)] });
    const body = b64(60);
    await bob.conn.request('group-send', { groupId, messageId: messageId(), body });
    for (const d of [alice, dave]) assert.equal((await delivery(d.conn)).body, body);
    assert.equal(await server.storage.queueDepth('alice', 2), 0);
    assert.deepEqual(await server.storage.groupsOf('alice'), [{ groupId, epoch, devices: [1] }]);
  });

  it('a group message sent just before a commit is queued before it (one device’s order is kept)', async () => {
    const body = b64(70);
    const commitBody = b64(90);
    const members = [member(alice), member(bob), member(dave)];
    const [sent, committed] = await Promise.all([
      bob.conn.request('group-send', { groupId, messageId: messageId(), body }),
      bob.conn.request('group-commit', { groupId, epoch, messageId: messageId(), commit: commitBody, members }),
    ]);
    assert.equal(sent.type, 'response');
    assert.equal(committed.type, 'response');
    epoch++;
    for (const d of [alice, dave]) {
      assert.deepEqual([(await delivery(d.conn)).body, (await delivery(d.conn)).body], [body, commitBody]);
    }
  });

  it('the operator export lists the group ids a device is on and its KeyPackage stock, never other members', async () => {
    const doc = await exportAccount(server.storage, 'bob');
    assert.deepEqual(doc?.groups, [{ groupId, epoch, devices: [1] }]);
    assert.deepEqual(doc?.devices[0]?.unusedKeyPackages, { oneTime: 0, lastResort: false });
    assert.ok(!JSON.stringify(doc?.groups).includes('dave'));
  });
});
