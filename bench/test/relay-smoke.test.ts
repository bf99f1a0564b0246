import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBench } from './run-bench.ts';

describe('relay benchmark (smoke)', () => {
  it('prints throughput and latency against a raw ws relay measured in the same run', () => {
    const figures = runBench(['relay', '--seconds', '0.2', '--connections', '20'], 60_000);
    assert.deepEqual(
      figures.map((f) => f.name),
      [
        'relay.throughput_20conn',
        'relay.p50_ms_20conn',
        'relay.p99_ms_20conn',
        'relay.p50_ms_20conn_at_5000msgs',
        'relay.p99_ms_20conn_at_5000msgs',
      ],
    );
    for (const f of figures) {
      assert.ok(
        Number.isFinite(f.value) && f.value > 0 && Number.isFinite(f.baseline) && f.baseline > 0,
        JSON.stringify(f),
      );
      assert.ok(Math.abs(f.ratio - f.value / f.baseline) < 0.02 * Math.max(1, f.ratio));
    }
  });
});
