import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runBench } from './run-bench.ts';

describe('attachments benchmark (smoke)', () => {
  it('prints throughput and peak-memory figures for a 1 MiB file, each with a same-run baseline', () => {
    const figures = runBench(['attachments', '--sizes', '1'], 180_000);
    assert.deepEqual(
      figures.map((f) => f.name),
      [
        'attachments.round_trip_mib_s',
        'attachments.upload_mib_s',
        'attachments.download_mib_s',
        'attachments.server_peak_rss_mb',
        'attachments.client_peak_rss_mb',
      ],
    );
    for (const f of figures) assert.ok(Number.isFinite(f.value) && f.value > 0 && f.baseline > 0, JSON.stringify(f));
  });
});
