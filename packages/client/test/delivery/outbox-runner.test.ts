/**
 * The outbox runner against a fake relay link (no server): scripted answers per request, so
 * each retry rule is checked on its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RelayErrorCode } from '@parley/protocol';
import { createOutboxRunner, type OutboxLane } from '../../src/delivery/outbox-runner.ts';
import { ClientError } from '../../src/errors.ts';

interface Row {
  readonly seq: number;
  readonly to: string;
  readonly id: string;
}

/** What the fake link answers to the next request for a message id: success, or an error. */
type Answer = 'ok' | Error;

/** A fake link: `answers` by message id are used up in order; afterwards it answers ok. */
function fakeLink(answers: Record<string, Answer[]>) {
  const requests: string[] = [];
  let connected = true;
  return {
    requests,
    setConnected(c: boolean) {
      connected = c;
    },
    isConnected: () => connected,
    async request(op: 'send', args: { messageId: string }): Promise<{ duplicate: boolean }> {
      if (!connected) throw new ClientError('SERVER_UNREACHABLE', 'not connected to the server');
      requests.push(`${op}:${args.messageId}`);
      const next = answers[args.messageId]?.shift() ?? 'ok';
      if (next !== 'ok') throw next;
      return { duplicate: false };
    },
  };
}

/** An in-memory outbox over `link`, recording what happened to each row. */
function memoryLane(rows: Row[], link: ReturnType<typeof fakeLink>) {
  const outcome: string[] = [];
  const lane: OutboxLane<Row> = {
    pending: () => [...rows],
    key: (r) => r.to,
    async deliver(r) {
      await link.request('send', { messageId: r.id });
    },
    sent(r) {
      rows.splice(rows.indexOf(r), 1);
      outcome.push(`sent ${r.id}`);
    },
    failed(r, err) {
      rows.splice(rows.indexOf(r), 1);
      outcome.push(`failed ${r.id}: ${(err as ClientError).relayCode ?? (err as ClientError).code}`);
    },
    blocked(r, err) {
      outcome.push(`blocked ${r.id}: ${(err as ClientError).code}`);
    },
    delayed(r, err) {
      outcome.push(`delayed ${r.id}: ${(err as ClientError).relayCode}`);
    },
  };
  return { lane, outcome, rows };
}

const refusal = (relayCode: RelayErrorCode, details?: unknown) =>
  new ClientError('SERVER_REFUSED', `server refused: ${relayCode}`, { relayCode, details });

const row = (seq: number, to: string): Row => ({ seq, to, id: `m${seq}` });

/** Waits until `check` holds (polling), or fails after `ms`. */
async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('the outbox runner', () => {
  it('sends every entry in order and leaves the outbox empty', async () => {
    const link = fakeLink({});
    const { lane, outcome, rows } = memoryLane([row(1, 'bob'), row(2, 'carol'), row(3, 'bob')], link);
    const runner = createOutboxRunner(lane, { isConnected: link.isConnected, onError: assert.fail });
    await runner.flush();
    assert.deepEqual(outcome, ['sent m1', 'sent m2', 'sent m3']);
    assert.deepEqual(rows, []);
  });

  it('retries a rate-limited entry after the server’s hint, holding back only that conversation', async () => {
    const link = fakeLink({ m1: [refusal('RATE_LIMITED', { retryAfterMs: 30 })] });
    const { lane, outcome } = memoryLane([row(1, 'bob'), row(2, 'carol'), row(3, 'bob')], link);
    const runner = createOutboxRunner(lane, { isConnected: link.isConnected, onError: assert.fail, minMs: 1 });
    const started = Date.now();
    await runner.flush();
    // bob's second message waits behind his first; carol's goes out.
    assert.deepEqual(outcome, ['sent m2']);
    assert.ok(runner.retrying());
    await until(() => outcome.length === 3);
    assert.ok(Date.now() - started >= 25, 'waited for the hint');
    assert.deepEqual(outcome, ['sent m2', 'sent m1', 'sent m3']);
    assert.deepEqual(link.requests, ['send:m1', 'send:m2', 'send:m1', 'send:m3']);
  });

  it('retries after a full queue (said at once, for the rest of that conversation too) and after a timeout, backing off', async () => {
    const link = fakeLink({
      m1: [refusal('QUEUE_FULL', { devices: [2] }), new ClientError('TIMEOUT', 'no answer')],
    });
    const { lane, outcome } = memoryLane([row(1, 'bob'), row(2, 'bob')], link);
    const runner = createOutboxRunner(lane, { isConnected: link.isConnected, onError: assert.fail, baseMs: 10 });
    await runner.flush();
    assert.deepEqual(outcome, ['delayed m1: QUEUE_FULL', 'delayed m2: QUEUE_FULL']);
    assert.ok(runner.retrying());
    await until(() => outcome.length === 4);
    assert.deepEqual(outcome.slice(2), ['sent m1', 'sent m2']);
    // The same message id each time: the relay stores it once.
    assert.deepEqual(link.requests, ['send:m1', 'send:m1', 'send:m1', 'send:m2']);
  });

  it('stops the pass while offline and sends everything on the next flush', async () => {
    const link = fakeLink({});
    const { lane, outcome } = memoryLane([row(1, 'bob'), row(2, 'carol')], link);
    const runner = createOutboxRunner(lane, { isConnected: link.isConnected, onError: assert.fail });
    link.setConnected(false);
    await runner.flush();
    assert.deepEqual(outcome, []);
    assert.equal(runner.retrying(), false, 'no timer: the reconnect brings the next pass');
    link.setConnected(true);
    await runner.flush();
    assert.deepEqual(outcome, ['sent m1', 'sent m2']);
  });

  it('keeps a blocked entry and tells whoever waits on it and on the rest of that conversation', async () => {
    const changed = new ClientError('UNTRUSTED_IDENTITY', 'key changed');
    const link = fakeLink({ m1: [changed] });
    const { lane, outcome, rows } = memoryLane([row(1, 'bob'), row(2, 'bob'), row(3, 'carol')], link);
    const runner = createOutboxRunner(lane, { isConnected: link.isConnected, onError: assert.fail });
    await runner.flush();
    assert.deepEqual(outcome, ['blocked m1: UNTRUSTED_IDENTITY', 'blocked m2: UNTRUSTED_IDENTITY', 'sent m3']);
    assert.deepEqual(
      rows.map((r) => r.id),
      ['m1', 'm2'],
    );
    assert.equal(runner.retrying(), false, 'a blocked entry waits for the user, not a timer');
    await runner.flush();
    assert.deepEqual(outcome.slice(3), ['sent m1', 'sent m2']);
  });

  it('fails an entry refused for good and goes on with the next', async () => {
    const link = fakeLink({ m1: [refusal('NOT_A_MEMBER')] });
    const { lane, outcome, rows } = memoryLane([row(1, 'g1'), row(2, 'g1')], link);
    const runner = createOutboxRunner(lane, { isConnected: link.isConnected, onError: assert.fail });
    await runner.flush();
    assert.deepEqual(outcome, ['failed m1: NOT_A_MEMBER', 'sent m2']);
    assert.deepEqual(rows, []);
  });

  it('reports a pass that threw, and runs the next one', async () => {
    const link = fakeLink({});
    const { lane, outcome } = memoryLane([row(1, 'bob')], link);
    let broken = true;
    const errors: unknown[] = [];
    const runner = createOutboxRunner(
      {
        ...lane,
        pending: () => {
          if (broken) throw new Error('database gone');
          return lane.pending();
        },
      },
      { isConnected: link.isConnected, onError: (err) => errors.push(err) },
    );
    await runner.flush();
    assert.equal(errors.length, 1);
    broken = false;
    await runner.flush();
    assert.deepEqual(outcome, ['sent m1']);
  });

  it('coalesces flushes asked for while one is queued', async () => {
    const link = fakeLink({});
    const { lane } = memoryLane([row(1, 'bob')], link);
    let passes = 0;
    const runner = createOutboxRunner(
      {
        ...lane,
        pending: () => {
          passes++;
          return lane.pending();
        },
      },
      { isConnected: link.isConnected, onError: assert.fail },
    );
    await Promise.all([runner.flush(), runner.flush(), runner.flush()]);
    assert.equal(passes, 1);
    assert.deepEqual(link.requests, ['send:m1']);
  });

  it('stop() cancels a scheduled retry', async () => {
    const link = fakeLink({ m1: [refusal('RATE_LIMITED', { retryAfterMs: 20 })] });
    const { lane, outcome } = memoryLane([row(1, 'bob')], link);
    const runner = createOutboxRunner(lane, { isConnected: link.isConnected, onError: assert.fail, minMs: 1 });
    await runner.flush();
    runner.stop();
    await new Promise((r) => setTimeout(r, 60));
    assert.deepEqual(outcome, []);
    assert.equal(runner.retrying(), false);
  });
});
