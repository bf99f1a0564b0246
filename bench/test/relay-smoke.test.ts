import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

describe('relay benchmark (smoke)', () => {
  it('prints throughput and latency against a raw ws relay measured in the same run', () => {
    const root = new URL('../..', import.meta.url).pathname;
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/run.ts', 'relay', '--seconds', '0.2', '--connections', '20'],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const figures = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
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
      assert.deepEqual(Object.keys(f), ['name', 'value', 'unit', 'baseline', 'ratio']);
      assert.ok(
        Number.isFinite(f.value) && f.value > 0 && Number.isFinite(f.baseline) && f.baseline > 0,
        JSON.stringify(f),
      );
      assert.ok(Math.abs(f.ratio - f.value / f.baseline) < 0.02 * Math.max(1, f.ratio));
    }
  });
});
