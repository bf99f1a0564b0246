import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBench } from './run-bench.ts';

describe('kt benchmark (smoke)', () => {
  it('kt prints every figure for a small map, with same-run baselines', () => {
    const figures = runBench(['kt', '--accounts', '2000', '--server-accounts', '200'], 120_000);
    assert.deepEqual(
      figures.map((f) => f.name),
      [
        'kt map build 2000 accounts',
        'kt map memory per account',
        'kt epoch publish 10000 updates at 2000 accounts (median of 5)',
        'kt lookup proof size at 2000 accounts (mean)',
        'kt lookup proof verify at 2000 accounts (@noble/hashes)',
        'kt audit throughput, 21 epochs of ~10 updates (epochs/s vs growth 0.1/s)',
        'kt directory storage per account at 200 accounts (SQLite)',
      ],
    );
    for (const f of figures) {
      // Heap growth per account can be anything at this size; every other figure is positive.
      if (f.name === 'kt map memory per account') assert.ok(Number.isFinite(f.value), JSON.stringify(f));
      else assert.ok(Number.isFinite(f.value) && f.value > 0 && f.baseline > 0, JSON.stringify(f));
    }
    // 2,000 keys: about 11 siblings of 33 bytes plus 4 + 64 bytes.
    const size = figures[3]?.value as number;
    assert.ok(size > 300 && size < 600, `proof size ${size}`);
  });
});
