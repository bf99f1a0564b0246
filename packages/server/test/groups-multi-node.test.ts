import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fromBase64Url, toBase64Url } from '@parley/protocol';
import { createKeyPackage } from '@parley/protocol/groups';
import { type RunningServer, startServer } from '@parley/server';
import { type RawConnection, type RawDevice, random, registerRaw } from './helpers/raw-device.ts';
import { dropSchema, NATS_URL, POSTGRES_URL, postgresSkipReason, tcpSkipReason } from './helpers/services.ts';

async function delivery(conn: RawConnection) {
  const f = await conn.next((x) => x.type === 'deliver');
  conn.sendRaw(JSON.stringify({ v: 1, type: 'ack', seqs: [f.seq] }));
  return { kind: f.kind, body: toBase64Url(fromBase64Url('body', f.body)) };
}

describe('groups on two nodes over PostgreSQL and NATS', async () => {
  const reason = (await postgresSkipReason()) ?? (await tcpSkipReason('NATS', NATS_URL));
  const schema = `parley_groups_${randomBytes(6).toString('hex')}`;
  const nodes: RunningServer[] = [];
  before(async () => {
    if (reason !== undefined) return;
    for (let i = 0; i < 2; i++) {
      nodes.push(
        await startServer({
          port: 0,
          dataDir: '/nonexistent',
          db: POSTGRES_URL,
          dbSchema: schema,
          bus: NATS_URL,
          logLevel: 'silent',
          limits: { sendRate: 1000, sendBurst: 1000, fetchRate: 1000, fetchBurst: 1000 },
        }),
      );
    }
  });
  after(async () => {
    if (reason !== undefined) return;
    for (const n of nodes) await n.close();
    await dropSchema(schema);
  });

  it('commits on one epoch through two nodes: exactly one wins; fan-out reaches devices on the other node', {
    skip: reason,
  }, async () => {
    const [a, b] = nodes as [RunningServer, RunningServer];
    const alice = await registerRaw(a.url, 'alice');
    const bob = await registerRaw(b.url, 'bob');
    const carol = await registerRaw(a.url, 'carol');
    const groupId = toBase64Url(random(16));
    const members = [alice, bob, carol].map((d) => ({ name: d.name, devices: [1] }));

    // KeyPackages published on one node are taken once through either.
    for (const d of [bob, carol]) {
      const kp = await Promise.all(
        [1, 2].map(async () => toBase64Url((await createKeyPackage(d.identity, d.name, 1)).keyPackage)),
      );
      assert.equal((await d.conn.request('upload-key-packages', { keyPackages: kp })).type, 'response');
    }
    const fetched = await Promise.all(
      [alice, alice, alice].map((d, i) => d.conn.request('fetch-key-packages', { name: i === 1 ? 'carol' : 'bob' })),
    );
    assert.ok(fetched.every((f) => f.type === 'response'));

    assert.equal((await alice.conn.request('group-create', { groupId })).type, 'response');
    const welcome = toBase64Url(random(300));
    const added = await alice.conn.request('group-commit', {
      groupId,
      epoch: 0,
      messageId: 'mn-commit-0',
      commit: toBase64Url(random(50)),
      members,
      welcome,
      welcomeTo: members.slice(1),
    });
    assert.equal(added.type, 'response', JSON.stringify(added));
    assert.equal((await delivery(bob.conn)).body, welcome, 'the welcome reached bob on the other node');
    assert.equal((await delivery(carol.conn)).body, welcome);

    // bob commits through node B, carol through node A, on the same epoch, at once.
    const race = (d: RawDevice, id: string) =>
      d.conn.request('group-commit', { groupId, epoch: 1, messageId: id, commit: toBase64Url(random(50)), members });
    const answers = await Promise.all([race(bob, 'mn-commit-b'), race(carol, 'mn-commit-c')]);
    assert.deepEqual(answers.map((r) => (r.type === 'response' ? 'ok' : r.code)).sort(), ['EPOCH_MOVED', 'ok']);
    assert.deepEqual(answers.find((r) => r.type === 'error')?.details, { epoch: 2 });

    const body = toBase64Url(random(120));
    const sent = await alice.conn.request('group-send', { groupId, messageId: 'mn-send-01', body });
    assert.equal(sent.type, 'response');
    const winner = answers[0]?.type === 'response' ? bob : carol;
    for (const d of [bob, carol]) {
      if (d !== winner) assert.equal((await delivery(d.conn)).kind, 'group', 'the winning commit');
      assert.deepEqual(await delivery(d.conn), { kind: 'group', body });
    }
    assert.equal((await delivery(alice.conn)).kind, 'group', 'alice gets the winning commit');
    for (const d of [alice, bob, carol]) d.conn.close();
  });
});
