/**
 * A sender's fair share of a recipient device's queue (issue 19 item 6): throwaway accounts that
 * flood one device each fill only their share, so other senders (and group sends to a group the
 * flooded device is in) still get in, and a refusal says which cap it met.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toBase64Url } from '@parley/protocol';
import { type RunningServer, startServer } from '@parley/server';
import { inviteRaw, type RawDevice, random, registerRaw, sendArgs } from './helpers/raw-device.ts';

const b64 = (n: number) => toBase64Url(random(n));
const messageId = () => b64(12);

describe('queue fair share: one sender holds at most its share of a device’s queue', () => {
  let dir: string;
  let server: RunningServer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-share-'));
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      // 20 messages a device, 10% of them (2) per sender.
      limits: {
        maxQueuePerDevice: 20,
        queueSenderSharePercent: 10,
        sendRate: 10_000,
        sendBurst: 10_000,
        registerBurstPerSource: 100,
        registerBurst: 100,
      },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends from `by` to `to` until refused (at most `tries`); how many got in, and the refusal. */
  const flood = async (by: RawDevice, to: string, tries: number) => {
    let accepted = 0;
    for (let i = 0; i < tries; i++) {
      const r = await by.conn.request('send', sendArgs(to, random(10)));
      if (r.type !== 'response') return { accepted, refusal: r };
      accepted++;
    }
    return { accepted, refusal: undefined };
  };

  it('a sender beyond its share gets QUEUE_FULL (sender-share) while another sender still gets in', async () => {
    const victim = await registerRaw(server.url, 'victim');
    victim.conn.close();
    await victim.conn.closed();
    const mallory = await registerRaw(server.url, 'mallory');
    const alice = await registerRaw(server.url, 'alice');

    const m = await flood(mallory, 'victim', 30);
    assert.equal(m.accepted, 2, 'one sender holds 10% of a 20-message queue');
    assert.equal(m.refusal?.code, 'QUEUE_FULL');
    assert.deepEqual(m.refusal?.details, { devices: [1], reason: 'sender-share' });
    assert.equal(await server.storage.queueDepth('victim', 1), 2);

    const a = await alice.conn.request('send', sendArgs('victim', random(10)));
    assert.equal(a.type, 'response', 'another sender still gets in');

    // Ten senders' shares do fill the whole queue: that refusal says so.
    for (let i = 0; i < 9; i++) {
      const t = await registerRaw(server.url, `throwaway${i}`);
      await flood(t, 'victim', 2);
    }
    assert.equal(await server.storage.queueDepth('victim', 1), 20);
    const whole = await alice.conn.request('send', sendArgs('victim', random(10)));
    assert.equal(whole.code, 'QUEUE_FULL');
    assert.deepEqual(whole.details, { devices: [1], reason: 'queue' });
    for (const d of [mallory, alice]) d.conn.close();
  });

  it('group sends still reach a group whose member’s queue others flooded', async () => {
    const ann = await registerRaw(server.url, 'ann');
    const ben = await registerRaw(server.url, 'ben');
    const cat = await registerRaw(server.url, 'cat');
    const groupId = b64(16);
    assert.equal((await ann.conn.request('group-create', { groupId })).type, 'response');
    await inviteRaw(ann, ben, cat);
    const members = [ann, ben, cat].map((d) => ({ name: d.name, devices: [d.device] }));
    const added = await ann.conn.request('group-commit', {
      groupId,
      epoch: 0,
      messageId: messageId(),
      commit: b64(100),
      members,
      welcome: b64(500),
      welcomeTo: members.slice(1),
    });
    assert.equal(added.type, 'response', JSON.stringify(added));
    cat.conn.close();
    await cat.conn.closed();

    // Three throwaway accounts flood cat's device as hard as they can.
    for (let i = 0; i < 3; i++) {
      const t = await registerRaw(server.url, `flooder${i}`);
      const f = await flood(t, 'cat', 30);
      assert.equal(f.refusal?.code, 'QUEUE_FULL');
      t.conn.close();
    }
    const sent = await ben.conn.request('group-send', { groupId, messageId: messageId(), body: b64(200) });
    assert.equal(sent.type, 'response', `the group send is queued for every member: ${JSON.stringify(sent)}`);
    const again = await ann.conn.request('group-send', { groupId, messageId: messageId(), body: b64(200) });
    assert.equal(again.type, 'response', JSON.stringify(again));
    ann.conn.close();
    ben.conn.close();
  });
});
