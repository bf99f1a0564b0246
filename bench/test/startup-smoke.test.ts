import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBenchWithNotes } from './run-bench.ts';

describe('startup benchmark (smoke)', () => {
  it('prints the four start-up figures against a bare node measured in the same run', () => {
    const { figures, notes } = runBenchWithNotes(['startup', '--runs', '1'], 180_000);
    assert.deepEqual(
      figures.map((f) => f.name),
      ['startup.version_ms', 'startup.serve_healthy_ms', 'startup.serve_idle_rss_mb', 'startup.send_ms'],
    );
    for (const f of figures) {
      assert.ok(
        Number.isFinite(f.value) && f.value > 0 && Number.isFinite(f.baseline) && f.baseline > 0,
        JSON.stringify(f),
      );
      assert.ok(Math.abs(f.ratio - f.value / f.baseline) < 0.02 * Math.max(1, f.ratio), JSON.stringify(f));
    }
    // Every figure is judged against its target on stderr, and the session-setup send is reported apart.
    assert.equal(notes.filter((n) => / (meets|misses) the target of /.test(n)).length, 4, notes.join('\n'));
    assert.ok(
      notes.some((n) => /the first send \(session setup\) took \d+ ms/.test(n)),
      notes.join('\n'),
    );
  });
});
