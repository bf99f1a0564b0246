/**
 * Replies, reactions, edits and deletes for everyone through a real server (docs/protocol.md
 * §12.1): between two accounts, onto this account's linked device, and in a group of three with
 * a linked device; each refusal the issue lists, with its typed reason and nothing changed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ClientEvent, groupPeer, isClientError, type ParleyClient } from '@parley/client';
import { createWorld, type TestWorld } from '../helpers/env.ts';
import { until } from '../helpers/groups.ts';

const HOUR = 3600 * 1000;

/** Rejects unless `p` rejects with `MESSAGE_REJECTED` for `reason` (or with `code`). */
async function refused(p: Promise<unknown>, reason: string, code = 'MESSAGE_REJECTED'): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isClientError(err), String(err));
    assert.equal(err.code, code);
    if (code === 'MESSAGE_REJECTED') assert.deepEqual(err.details, { reason });
    return true;
  });
}

const line = (c: ParleyClient, peer: string, id: string) => c.history(peer, 1000).find((m) => m.id === id);

/** Events of `type` seen so far on an iterator drained in the background. */
function recorder(c: ParleyClient) {
  const seen: ClientEvent[] = [];
  const it = c.events();
  void (async () => {
    for await (const e of it) seen.push(e);
  })();
  return { seen, stop: () => void it.return?.() };
}

describe('conversations: replies, reactions, edits, deletes (one-to-one)', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let alice2: ParleyClient;
  let bob: ParleyClient;
  let now = Date.now();
  const clock = () => now;

  before(async () => {
    world = await createWorld();
    alice = await world.register('alice', { clock });
    bob = await world.register('bob');
    await alice.connect();
    await bob.connect();
    alice2 = await world.link(alice, 'alice-laptop');
  });
  after(() => world.close());

  it('a reply carries the quoted id, sender and snippet to the other side and to our other device', async () => {
    const { id } = await alice.sendAndWait('bob', `question ${'?'.repeat(150)}`);
    await until('bob has it', () => line(bob, 'alice', id) !== undefined);
    const reply = await bob.reply('alice', id, 'answer');
    await until('alice has the reply', () => line(alice, 'bob', reply.id) !== undefined);
    const got = line(alice, 'bob', reply.id);
    assert.equal(got?.text, 'answer');
    assert.equal(got?.replyTo?.id, id);
    assert.equal(got?.replyTo?.sender, 'alice');
    assert.equal([...(got?.replyTo?.snippet ?? '')].length, 100, 'the snippet is at most 100 characters');
    assert.equal(line(bob, 'alice', reply.id)?.replyTo?.id, id, 'the sender stores the quote too');
    await until('alice’s laptop has the reply', () => line(alice2, 'bob', reply.id)?.replyTo?.id === id);
  });

  it('reactions: one per person, changeable and removable, counted per emoji, on every device', async () => {
    const { id } = await alice.sendAndWait('bob', 'react to me');
    await until('bob has it', () => line(bob, 'alice', id) !== undefined);
    const events = recorder(alice);
    await bob.react('alice', id, '👍');
    await alice.react('bob', id, '👍');
    await until('two 👍 on alice', () => line(alice, 'bob', id)?.reactions[0]?.count === 2);
    await until('two 👍 on bob', () => line(bob, 'alice', id)?.reactions[0]?.count === 2);
    await until('two 👍 on alice’s laptop', () => line(alice2, 'bob', id)?.reactions[0]?.count === 2);
    // Bob changes his: still one reaction per person.
    await bob.react('alice', id, '❤️');
    await until('changed on alice', () => (line(alice, 'bob', id)?.reactions.length ?? 0) === 2);
    assert.deepEqual(
      line(alice, 'bob', id)?.reactions.map((r) => [r.emoji, r.count, r.by]),
      [
        ['👍', 1, ['alice']],
        ['❤️', 1, ['bob']],
      ],
    );
    await bob.react('alice', id, null);
    await until('removed on alice', () => (line(alice, 'bob', id)?.reactions.length ?? 0) === 1);
    const reactionEvents = events.seen.filter((e) => e.type === 'reaction');
    assert.ok(reactionEvents.some((e) => e.type === 'reaction' && e.by === 'bob' && e.emoji === null));
    events.stop();
  });

  it('a reaction that is not one emoji is refused before anything is sent', async () => {
    const { id } = await alice.sendAndWait('bob', 'emoji only');
    for (const bad of ['ok', '👍👍', '👍 ', '', 'a👍'])
      await refused(alice.react('bob', id, bad), '', 'INVALID_ARGUMENT');
    assert.deepEqual(line(alice, 'bob', id)?.reactions, []);
  });

  it('a reaction to an unknown id is refused as UNKNOWN_MESSAGE', async () => {
    await refused(alice.react('bob', 'no-such-message-id', '👍'), 'UNKNOWN_MESSAGE');
  });

  it('an edit replaces the text everywhere, marks it edited and keeps the earlier text', async () => {
    const { id } = await alice.sendAndWait('bob', 'helo');
    await until('bob has it', () => line(bob, 'alice', id) !== undefined);
    const events = recorder(bob);
    now += 1000;
    await alice.edit('bob', id, 'hello');
    await until('bob sees the edit', () => line(bob, 'alice', id)?.text === 'hello');
    assert.equal(line(bob, 'alice', id)?.editedAt, now);
    assert.deepEqual(
      bob.editHistory('alice', id).map((e) => e.text),
      ['helo'],
    );
    await until('alice’s laptop sees the edit', () => line(alice2, 'bob', id)?.text === 'hello');
    assert.equal(line(alice, 'bob', id)?.text, 'hello');
    await until('edit event', () => events.seen.some((e) => e.type === 'edit' && e.message.id === id));
    events.stop();
  });

  it('editing or deleting someone else’s message is refused, and nothing changes', async () => {
    const { id } = await alice.sendAndWait('bob', 'mine, not yours');
    await until('bob has it', () => line(bob, 'alice', id) !== undefined);
    await refused(bob.edit('alice', id, 'forged'), 'NOT_SENDER');
    await refused(bob.deleteForEveryone('alice', id), 'NOT_SENDER');
    assert.equal(line(bob, 'alice', id)?.text, 'mine, not yours');
    assert.equal(line(bob, 'alice', id)?.deleted, false);
  });

  it('delete for everyone leaves a tombstone on every device and drops its reactions and edits', async () => {
    const { id } = await alice.sendAndWait('bob', 'regrettable');
    await until('bob has it', () => line(bob, 'alice', id) !== undefined);
    await bob.react('alice', id, '😂');
    now += 1000;
    await alice.edit('bob', id, 'more regrettable');
    await until('bob sees the edit', () => line(bob, 'alice', id)?.text === 'more regrettable');
    const events = recorder(bob);
    await alice.deleteForEveryone('bob', id);
    await until('bob shows a tombstone', () => line(bob, 'alice', id)?.deleted === true);
    for (const [c, peer] of [
      [bob, 'alice'],
      [alice, 'bob'],
    ] as const) {
      const m = line(c, peer, id);
      assert.equal(m?.text, '');
      assert.deepEqual(m?.reactions, []);
      assert.deepEqual(c.editHistory(peer, id), []);
    }
    await until('alice’s laptop shows a tombstone', () => line(alice2, 'bob', id)?.deleted === true);
    await until('delete event', () => events.seen.some((e) => e.type === 'delete' && e.message.id === id));
    events.stop();
    // Edit of a deleted message; a reaction to it; a reply to it.
    await refused(alice.edit('bob', id, 'back again'), 'DELETED');
    await refused(bob.react('alice', id, '👍'), 'DELETED');
    await refused(bob.reply('alice', id, 'what was that?'), 'DELETED');
  });

  it('after 24 hours a message can no longer be edited or deleted', async () => {
    const { id } = await alice.sendAndWait('bob', 'old news');
    now += 24 * HOUR + 1;
    await refused(alice.edit('bob', id, 'new news'), 'TOO_LATE');
    await refused(alice.deleteForEveryone('bob', id), 'TOO_LATE');
    assert.equal(line(alice, 'bob', id)?.text, 'old news');
    // The session stays usable.
    const after = await alice.sendAndWait('bob', 'still here');
    await until('bob has the next message', () => line(bob, 'alice', after.id) !== undefined);
  });
});

describe('conversations in a group of three with a linked device', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let alice2: ParleyClient;
  let bob: ParleyClient;
  let carol: ParleyClient;
  let peer: string;

  before(async () => {
    world = await createWorld();
    alice = await world.register('alice');
    bob = await world.register('bob');
    carol = await world.register('carol');
    for (const c of [alice, bob, carol]) await c.connect();
    alice2 = await world.link(alice, 'alice-laptop');
    await alice.idle();
    const { id } = await alice.createGroup('trio', ['bob', 'carol']);
    peer = groupPeer(id);
    await until('everyone joined', () =>
      [bob, carol, alice2].every((c) => c.groups().some((g) => g.id === id && g.status === 'active')),
    );
  });
  after(() => world.close());

  it('reply, reactions, edit and delete reach every member and alice’s laptop', async () => {
    const everyone = [alice, alice2, bob, carol];
    const { id } = await alice.sendToGroup(peer.slice('group:'.length), 'group hello');
    await until('all have it', () => everyone.every((c) => line(c, peer, id) !== undefined));
    const r = await bob.reply(peer, id, 'hi alice');
    await until('all have the reply', () => everyone.every((c) => line(c, peer, r.id)?.replyTo?.id === id));
    await bob.react(peer, id, '👍');
    await carol.react(peer, id, '👍');
    await until('two 👍 everywhere', () => everyone.every((c) => line(c, peer, id)?.reactions[0]?.count === 2));
    await alice2.edit(peer, id, 'group hello, edited on the laptop');
    await until('edited everywhere', () =>
      everyone.every((c) => line(c, peer, id)?.text === 'group hello, edited on the laptop'),
    );
    await refused(carol.edit(peer, id, 'carol was here'), 'NOT_SENDER');
    await alice.deleteForEveryone(peer, id);
    await until('tombstone everywhere', () =>
      everyone.every((c) => line(c, peer, id)?.deleted === true && line(c, peer, id)?.reactions.length === 0),
    );
    assert.equal(line(carol, peer, r.id)?.replyTo?.snippet, '', 'the quote of a deleted message is emptied too');
  });
});
