/**
 * Per-account limits shared between nodes: what one node allowed, reported over the bus, is
 * charged to the others' buckets (multi-node.test.ts runs it between server processes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLocalBus, MAX_USAGE_ENTRIES, parseBusEvent } from '../src/bus/bus.ts';
import { DEFAULT_LIMITS } from '../src/options.ts';
import { createAccountLimits, createTokenBucket } from '../src/relay/rate-limit.ts';

const limits = {
  ...DEFAULT_LIMITS,
  sendRate: 1,
  sendBurst: 5,
  fetchRate: 1,
  fetchBurst: 2,
  usageReportMs: 1000,
};
/** Sharing over a bus that carries nothing: the tests hand reports from node to node themselves. */
const sharing = (node: string) => ({ bus: createLocalBus(), node, clock: () => 0 });

describe('account limits across nodes', () => {
  it('charges what another node allowed, so the account shares one burst', () => {
    const a = createAccountLimits(limits, sharing('a'));
    const b = createAccountLimits(limits, sharing('b'));
    for (let i = 0; i < 4; i++) assert.equal(a.sends.take('erin', 0), 0);
    assert.equal(a.fetches.take('erin', 0), 0);
    assert.equal(a.sends.take('gus', 0), 0);
    const [report, ...more] = a.report();
    assert.deepEqual(report, {
      sends: [
        ['erin', 4],
        ['gus', 1],
      ],
      fetches: [['erin', 1]],
    });
    assert.deepEqual(more, []);
    assert.deepEqual(a.report(), [], 'each token is reported once');
    if (report === undefined) return;
    b.absorb(report, 0);
    // Node B had erin's whole burst of 5; after the report one is left, then she waits a second.
    assert.equal(b.sends.take('erin', 0), 0);
    assert.equal(b.sends.take('erin', 0), 1000);
    assert.equal(b.fetches.take('erin', 0), 0);
    assert.equal(b.fetches.take('erin', 0), 1000);
    // Refusals are not reported as use; others' accounts are untouched.
    assert.deepEqual(b.report(), [{ sends: [['erin', 1]], fetches: [['erin', 1]] }]);
    for (let i = 0; i < 5; i++) assert.equal(b.sends.take('hal', 0), 0);
    a.stop();
    b.stop();
  });

  it('reports nothing on a single node, and splits a busy second into bounded reports', () => {
    const single = createAccountLimits(limits);
    assert.equal(single.sends.take('erin', 0), 0);
    assert.deepEqual(single.report(), []);
    const busy = createAccountLimits(limits, sharing('busy'));
    for (let i = 0; i < MAX_USAGE_ENTRIES + 3; i++) busy.sends.take(`acct${i}`, 0);
    const reports = busy.report();
    assert.deepEqual(
      reports.map((r) => [r.sends.length, r.fetches.length]),
      [
        [MAX_USAGE_ENTRIES, 0],
        [3, 0],
      ],
    );
    busy.stop();
  });

  it('a bucket in debt refills before it allows again, and debt is bounded by the burst', () => {
    const bucket = createTokenBucket(2, 4, 0);
    bucket.charge(100, 0);
    assert.equal(bucket.take(0), 2500, '-4 tokens: 2.5 s to one');
    assert.equal(bucket.take(2500), 0);
  });

  it('parses a usage report and refuses a malformed one', () => {
    const usage = { sends: [['erin', 3]], fetches: [] };
    assert.deepEqual(parseBusEvent(JSON.stringify({ type: 'usage', node: 'n1', usage })), {
      type: 'usage',
      node: 'n1',
      usage,
    });
    const long = Array.from({ length: MAX_USAGE_ENTRIES + 1 }, (_, i) => [`a${i}`, 1]);
    for (const bad of [
      { sends: [['erin', 0]], fetches: [] },
      { sends: [['erin', 1.5]], fetches: [] },
      { sends: [[7, 1]], fetches: [] },
      { sends: [['erin', 1, 2]], fetches: [] },
      { sends: long, fetches: [] },
      { sends: [] },
      null,
    ])
      assert.equal(parseBusEvent(JSON.stringify({ type: 'usage', node: 'n1', usage: bad })), undefined);
    assert.equal(parseBusEvent(JSON.stringify({ type: 'usage', usage })), undefined, 'no node');
  });
});
