/**
 * A hostile server against groups: replays, a commit and a Welcome of its own making, and a
 * removed member put back on the delivery list. Each test is named after the attack;
 * docs/threat-model.md maps each one here.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { ClientEvent, ParleyClient } from '@parley/client';
import { fromBase64Url, generateDeviceIdentity, toBase64Url } from '@parley/protocol';
import {
  commitGroupChange,
  createGroupState,
  decodeKeyPackageMessage,
  groupClientConfig,
} from '@parley/protocol/groups';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import { inGroup, texts, until } from './helpers/groups.ts';
import { hostileWorld } from './helpers/hostile-world.ts';

const provider = createNodeCryptoProvider();
const random = createNodeRandom();

/** Collects the `group-rejected` events a client reports from now on. */
function rejections(c: ParleyClient): { reasons: string[]; stop(): void } {
  const reasons: string[] = [];
  const events = c.events();
  void (async () => {
    for await (const e of events as AsyncIterable<ClientEvent>) if (e.type === 'group-rejected') reasons.push(e.reason);
  })();
  return { reasons, stop: () => void events.return?.() };
}

let injected = 0;
/** A `deliver` frame as the server would push it. */
const deliver = (from: string, kind: 'group' | 'welcome', body: Uint8Array) =>
  JSON.stringify({
    type: 'deliver',
    seq: 900_000_000 + injected++,
    from,
    fromDevice: 1,
    messageId: `injected-${injected}`,
    kind,
    body: toBase64Url(body),
    serverTime: Date.now(),
  });

/** Three members in one group, created by alice (admin), every client behind the hostile proxy. */
async function groupWorld(prefix: string) {
  const h = await hostileWorld();
  const alice = await h.register(`${prefix}-alice`);
  const bob = await h.register(`${prefix}-bob`);
  const carol = await h.register(`${prefix}-carol`);
  const { id } = await alice.createGroup('Hostile', [`${prefix}-bob`, `${prefix}-carol`]);
  await until('bob and carol to join', () => [bob, carol].every((c) => inGroup(c, id)));
  return { h, alice, bob, carol, id };
}

describe('hostile server against groups', () => {
  const worlds: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const w of worlds) await w.close();
  });

  it('replays old group messages, commits and welcomes → each message shown once, group intact', async () => {
    const { h, alice, bob, carol, id } = await groupWorld('hr');
    worlds.push(h);
    const captured: string[] = [];
    h.setRule((d, toServer) => {
      if (!toServer && /"type":"deliver"/.test(d) && /"kind":"(group|welcome)"/.test(d)) captured.push(d);
      return [d];
    });
    await alice.sendToGroup(id, 'g1');
    await until('g1 everywhere', () => [bob, carol].every((c) => texts(c, id).includes('g1')));
    await alice.updateGroup(id, { admins: ['hr-alice', 'hr-bob'] });
    await until('the commit everywhere', () => [bob, carol].every((c) => c.group(id).admins.includes('hr-bob')));
    await bob.sendToGroup(id, 'g2');
    await until('g2 everywhere', () => [alice, carol].every((c) => texts(c, id).includes('g2')));
    const epoch = alice.group(id).epoch;
    const watch = rejections(bob);
    // Everything captured so far (two messages and a commit) is pushed again, to every member, twice.
    for (const frame of [...captured, ...captured]) {
      for (const who of ['hr-alice', 'hr-bob', 'hr-carol']) h.proxy.inject(who, frame);
    }
    await carol.sendToGroup(id, 'g3');
    await until('g3 everywhere', () => [alice, bob].every((c) => texts(c, id).includes('g3')));
    for (const c of [alice, bob, carol]) await c.idle();
    for (const c of [alice, bob, carol]) {
      assert.deepEqual(texts(c, id), ['g1', 'g2', 'g3']);
      assert.equal(c.group(id).epoch, epoch);
    }
    assert.ok(watch.reasons.length > 0, 'the replays were refused, not silently applied');
    watch.stop();
  });

  it('delivers an opened group message again (its acknowledgement lost, e.g. a server killed) → a duplicate, shown once, no refusal', async () => {
    const { h, alice, bob, carol, id } = await groupWorld('hd');
    worlds.push(h);
    const captured: string[] = [];
    h.setRule((d, toServer) => {
      if (!toServer && /"type":"deliver"/.test(d) && /"kind":"group"/.test(d)) captured.push(d);
      return [d];
    });
    await alice.sendToGroup(id, 'once');
    await until('it everywhere', () => [bob, carol].every((c) => texts(c, id).includes('once')));
    for (const c of [bob, carol]) await c.idle();
    const watch = [bob, carol].map(rejections);
    for (const frame of captured) for (const who of ['hd-bob', 'hd-carol']) h.proxy.inject(who, frame);
    await alice.sendToGroup(id, 'after');
    await until('the next one everywhere', () => [bob, carol].every((c) => texts(c, id).includes('after')));
    for (const c of [bob, carol]) await c.idle();
    for (const c of [bob, carol]) assert.deepEqual(texts(c, id), ['once', 'after']);
    assert.deepEqual(
      watch.map((w) => w.reasons),
      [[], []],
      'a message already opened is a duplicate, not a message that could not be decrypted',
    );
    for (const w of watch) w.stop();
  });

  it('injects a commit of its own (right group id and epoch, its own keys) → refused by every member', async () => {
    const { h, alice, bob, carol, id } = await groupWorld('hc');
    worlds.push(h);
    const epoch = bob.group(id).epoch;
    // The operator builds an MLS group under the same id, impersonating alice's device, and
    // commits until its epoch matches the real group's.
    const forger = await generateDeviceIdentity(provider, random);
    let forged = await createGroupState({
      groupId: fromBase64Url('groupId', id),
      identity: forger,
      account: 'hc-alice',
      device: 1,
      meta: { name: 'Hostile', admins: ['hc-alice', 'hc-operator'] },
      config: groupClientConfig(async () => true, provider),
    });
    let commit: Uint8Array = new Uint8Array();
    for (let e = 0; e < epoch; e++) {
      const pending = await commitGroupChange(forged, {});
      commit = pending.commit;
      if (e < epoch - 1) forged = pending.state;
    }
    const watches = [bob, carol].map(rejections);
    assert.equal(h.proxy.inject('hc-bob', deliver('hc-alice', 'group', commit)), 1);
    assert.equal(h.proxy.inject('hc-carol', deliver('hc-alice', 'group', commit)), 1);
    await until('both to refuse it', () => watches.every((w) => w.reasons.length > 0));
    for (const c of [bob, carol]) assert.equal(c.group(id).epoch, epoch);
    await alice.sendToGroup(id, 'still the real group');
    await until('the real group to go on', () =>
      [bob, carol].every((c) => texts(c, id).includes('still the real group')),
    );
    for (const w of watches) w.stop();
  });

  it('injects a Welcome of its own into a ghost group posing as alice → refused, no group appears', async () => {
    const { h, bob, id } = await groupWorld('hw');
    worlds.push(h);
    // The operator holds bob's published KeyPackages: it takes one straight from its database.
    const taken = await h.world.server.storage.takeKeyPackage('hw-bob', 1, {
      to: { account: 'hw-operator', device: 1 },
      expiresAt: 0,
    });
    assert.ok(taken, 'bob has KeyPackages on the server');
    const forger = await generateDeviceIdentity(provider, random);
    const ghost = await createGroupState({
      groupId: random(16),
      identity: forger,
      account: 'hw-alice',
      device: 1,
      meta: { name: 'Looks like alice', admins: ['hw-alice'] },
      config: groupClientConfig(async () => true, provider),
    });
    const pending = await commitGroupChange(ghost, { add: [decodeKeyPackageMessage(taken.keyPackage)] });
    assert.ok(pending.welcome);
    const watch = rejections(bob);
    assert.equal(h.proxy.inject('hw-bob', deliver('hw-alice', 'welcome', pending.welcome)), 1);
    await until('bob to refuse it', () => watch.reasons.length > 0);
    await bob.idle();
    assert.deepEqual(
      bob.groups().map((g) => g.id),
      [id],
      'no ghost group was joined',
    );
    assert.match(watch.reasons[0] ?? '', /welcome refused/);
    watch.stop();
  });

  it('keeps a removed member on the delivery list → the removed device reads nothing new', async () => {
    const { h, alice, bob, carol, id } = await groupWorld('hx');
    worlds.push(h);
    await alice.removeFromGroup(id, ['hx-carol']);
    await until('carol to see the removal', () => carol.group(id).status === 'removed');
    // From now on the operator copies every group message bob receives to carol as well.
    h.setRule((d, toServer) => {
      if (!toServer && /"type":"deliver"/.test(d) && /"kind":"group"/.test(d)) h.proxy.inject('hx-carol', d);
      return [d];
    });
    const before = texts(carol, id);
    await alice.sendToGroup(id, 'after carol left');
    await until('bob to read it', () => texts(bob, id).includes('after carol left'));
    await carol.idle();
    assert.deepEqual(texts(carol, id), before);
  });

  it('drops the answer to an accepted commit → the committer settles it before anything else, and stays in step', async () => {
    const h = await hostileWorld();
    worlds.push(h);
    const alice = await h.register('hd-alice', { requestTimeoutMs: 1500 });
    const bob = await h.register('hd-bob');
    await h.register('hd-carol');
    await h.register('hd-dave');
    const { id } = await alice.createGroup('Lost answer', ['hd-bob']);
    await until('bob to join', () => bob.groups().some((g) => g.id === id));
    await alice.updateGroup(id, { admins: ['hd-alice', 'hd-bob'] });
    await until('bob to become admin', () => bob.group(id).admins.includes('hd-bob'));
    // The server takes alice's next commit but never tells her.
    let commitRequest: number | undefined;
    h.setRule((d, toServer) => {
      const f = JSON.parse(d) as { id?: number; op?: string; type?: string };
      if (toServer && f.op === 'group-commit') commitRequest = f.id;
      if (!toServer && f.type === 'response' && f.id !== undefined && f.id === commitRequest) return [];
      return [d];
    });
    await assert.rejects(alice.addToGroup(id, ['hd-carol']), { code: 'TIMEOUT' });
    h.setRule((d) => [d]);
    // Meanwhile bob, who saw alice's commit, commits on top of it.
    await until('bob to see carol', () => bob.group(id).members.some((m) => m.name === 'hd-carol'));
    await bob.addToGroup(id, ['hd-dave']);
    await until('alice to catch up', () => alice.group(id).epoch === bob.group(id).epoch);
    assert.deepEqual(
      alice
        .group(id)
        .members.map((m) => m.name)
        .sort(),
      ['hd-alice', 'hd-bob', 'hd-carol', 'hd-dave'],
    );
    await alice.sendToGroup(id, 'in step again');
    await until('bob to read it', () => texts(bob, id).includes('in step again'));
  });
});
