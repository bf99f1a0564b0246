import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBenchWithNotes } from './run-bench.ts';

describe('relay benchmark (smoke)', () => {
  it('prints throughput and latency against a raw ws relay measured in the same run', () => {
    const { figures, notes } = runBenchWithNotes(['relay', '--seconds', '0.2', '--connections', '20'], 60_000);
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
    // CPU per delivered message, for both relays and both runs; Parley's also gives its batch size.
    const cpu = (relay: string, paced: boolean) =>
      notes.find((n) => n.startsWith(`relay bench: ${relay}${paced ? ' at 5000 msgs/s' : ''}: CPU per delivered`));
    for (const relay of ['raw ws relay', 'parley relay']) {
      for (const paced of [false, true]) {
        const note = cpu(relay, paced);
        const m = note && /message ([\d.]+) µs load generator \+ ([\d.]+) µs relay \(([\d.]+) µs/.exec(note);
        assert.ok(m, `no CPU note for ${relay}${paced ? ' (paced)' : ''} in:\n${notes.join('\n')}`);
        for (const x of m.slice(1)) assert.ok(Number(x) > 0, note);
        if (relay === 'parley relay') assert.match(note ?? '', /, [\d.]+ messages per storage batch of [\d.]+ ms$/);
      }
    }
  });
});
