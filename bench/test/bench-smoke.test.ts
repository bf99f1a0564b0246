import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBench } from './run-bench.ts';

describe('benchmarks (smoke)', () => {
  it('ratchet prints one well-formed JSON line per figure, with a same-run baseline', () => {
    const figures = runBench(['ratchet', '--seconds', '0.05'], 60_000);
    assert.deepEqual(
      figures.map((f) => f.name),
      ['ratchet.session_setup', 'ratchet.one_way_200B', 'ratchet.ping_pong_200B'],
    );
    for (const f of figures) {
      assert.ok(Number.isFinite(f.value) && f.value > 0 && Number.isFinite(f.baseline) && f.baseline > 0);
      assert.ok(Math.abs(f.ratio - f.value / f.baseline) < 0.02 * Math.max(1, f.ratio));
    }
  });
});

describe('kt-vrf benchmark (smoke)', () => {
  it('kt-vrf prints verify and prove figures, with node:crypto Ed25519 as the same-run baseline', () => {
    const figures = runBench(['kt-vrf', '--seconds', '0.05'], 60_000);
    assert.deepEqual(
      figures.map((f) => f.name),
      ['kt-vrf.verify', 'kt-vrf.prove'],
    );
    for (const f of figures) {
      assert.ok(Number.isFinite(f.value) && f.value > 0 && Number.isFinite(f.baseline) && f.baseline > 0);
    }
  });
});

describe('group benchmark (smoke)', () => {
  it('groups prints every figure for one size, with same-run baselines', () => {
    const figures = runBench(['groups', '--sizes', '4', '--seconds', '0.2'], 120_000);
    assert.deepEqual(
      figures.map((f) => f.name),
      [
        'add_ms',
        'add_commit_bytes',
        'add_welcome_bytes',
        'process_commit_ms',
        'send_ms',
        'send_bytes',
        'remove_ms',
        'remove_commit_bytes',
        'remove_warm_ms',
        'remove_warm_commit_bytes',
        'fanout_deliveries_per_s',
      ].map((n) => `groups.n4.${n}`),
    );
    for (const f of figures) {
      assert.ok(Number.isFinite(f.value) && f.value > 0 && f.baseline > 0, JSON.stringify(f));
    }
    // One encryption per message whatever the size: the group message is smaller than n pairwise ones.
    const bytes = figures.find((f) => f.name === 'groups.n4.send_bytes');
    assert.ok(bytes !== undefined && bytes.ratio < 1, JSON.stringify(bytes));
  });
});
