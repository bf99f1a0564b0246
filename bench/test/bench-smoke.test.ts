import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

describe('benchmarks (smoke)', () => {
  it('ratchet prints one well-formed JSON line per figure, with a same-run baseline', () => {
    const root = new URL('../..', import.meta.url).pathname;
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'ratchet', '--seconds', '0.05'], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const figures = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      figures.map((f) => f.name),
      ['ratchet.session_setup', 'ratchet.one_way_200B', 'ratchet.ping_pong_200B'],
    );
    for (const f of figures) {
      assert.deepEqual(Object.keys(f), ['name', 'value', 'unit', 'baseline', 'ratio']);
      assert.ok(Number.isFinite(f.value) && f.value > 0 && Number.isFinite(f.baseline) && f.baseline > 0);
      assert.ok(Math.abs(f.ratio - f.value / f.baseline) < 0.02 * Math.max(1, f.ratio));
    }
  });
});
