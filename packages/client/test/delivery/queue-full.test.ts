/**
 * A full recipient queue is said at once (issue 19 item 6): the SDK emits `send-delayed` with
 * reason QUEUE_FULL and `sendAndWait` rejects with QUEUED right away, while the message stays
 * in the outbox and goes out once the recipient has taken its backlog.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ClientEvent, isClientError, openClient } from '@parley/client';
import { createWorld, nextMessages } from '../helpers/env.ts';
import { within } from '../helpers/within.ts';

/** The first event of `events` that `pick` accepts (undefined if the events end first). */
async function first(
  events: AsyncIterableIterator<ClientEvent>,
  pick: (e: ClientEvent) => boolean,
): Promise<ClientEvent | undefined> {
  for await (const e of events) if (pick(e)) return e;
  return undefined;
}

describe('a full recipient queue', () => {
  it('is said at once (send-delayed, QUEUED) and the message is sent once space frees', async () => {
    const world = await createWorld({ limits: { maxQueuePerDevice: 3, queueSenderSharePercent: 100 } });
    try {
      const alice = await world.register('qd-alice');
      const bob = await world.register('qd-bob');
      await bob.close();
      for (let i = 0; i < 3; i++) await alice.sendAndWait('qd-bob', `fills ${i}`);
      const events = alice.events();
      const delayed = first(events, (e) => e.type === 'send-delayed');
      // No signal, no timeout: before the fix this waited for as long as the queue stayed full.
      const refused = await within(
        alice.sendAndWait('qd-bob', 'waits for space').then(
          () => undefined,
          (err: unknown) => err,
        ),
        10_000,
        'sendAndWait to answer',
      );
      assert.ok(isClientError(refused, 'QUEUED'), `QUEUED, not ${String(refused)}`);
      assert.equal(refused.relayCode, 'QUEUE_FULL');
      const event = await within(delayed, 5000, 'the send-delayed event');
      assert.ok(event !== undefined);
      assert.deepEqual(
        { ...event, id: '' },
        { type: 'send-delayed', id: '', to: 'qd-bob', reason: 'QUEUE_FULL', cap: 'queue' },
      );
      const line = alice.history('qd-bob').at(-1);
      assert.equal(line?.text, 'waits for space');
      assert.equal(line?.status, 'pending', 'still queued, not failed');

      const later = alice.events();
      const sent = first(later, (e) => e.type === 'sent' && e.id === line?.id);
      const bobAgain = await openClient({ home: world.home('qd-bob'), maxBackoffMs: 200 });
      try {
        const got = nextMessages(bobAgain, 4, 60_000);
        await bobAgain.connect();
        assert.deepEqual(await got, ['fills 0', 'fills 1', 'fills 2', 'waits for space']);
        assert.ok((await within(sent, 60_000, 'the delayed message to be sent')) !== undefined);
      } finally {
        await later.return?.();
        await bobAgain.close();
      }
    } finally {
      await world.close();
    }
  });
});
