/**
 * The relay's Prometheus exposition (src/metrics.ts): its own counters, gauges and histogram in
 * the text format 0.0.4, byte for byte, and prom-client's process metrics, which it loads on the
 * first scrape only (issue 18: an idle server that nobody scrapes does not hold prom-client).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createMetrics, METRICS_CONTENT_TYPE } from '../src/metrics.ts';
import { runJsonChild } from './helpers/json-child.ts';

/** The text of `render()` without prom-client's process metrics (`parley_process_…`). */
function own(text: string): string {
  return text
    .split('\n')
    .filter((l) => l !== '' && !/^(# (HELP|TYPE) )?parley_process_/.test(l))
    .join('\n');
}

describe('relay metrics exposition', () => {
  it('writes counters, labelled counters, gauges and a cumulative histogram in the Prometheus text format', async () => {
    const m = createMetrics(
      () => 2,
      async () => 5,
    );
    m.messagesIn.inc(3);
    m.messagesOut.inc();
    m.groupCommits.inc({ outcome: 'committed' });
    m.groupCommits.inc({ outcome: 'committed' });
    m.groupCommits.inc({ outcome: 'epoch-moved' });
    m.storeSeconds.observe({ op: 'batch' }, 0.003);
    m.storeSeconds.observe({ op: 'batch' }, 2);
    const text = await m.render();
    assert.equal(
      own(text),
      [
        '# HELP parley_connections Authenticated device connections on this node',
        '# TYPE parley_connections gauge',
        'parley_connections 2',
        '# HELP parley_queue_depth Messages stored and not yet acknowledged, all devices',
        '# TYPE parley_queue_depth gauge',
        'parley_queue_depth 5',
        '# HELP parley_messages_in_total Ciphertexts accepted (one per recipient device)',
        '# TYPE parley_messages_in_total counter',
        'parley_messages_in_total 3',
        '# HELP parley_messages_out_total Ciphertexts pushed to devices',
        '# TYPE parley_messages_out_total counter',
        'parley_messages_out_total 1',
        '# HELP parley_store_seconds Storage latency by operation',
        '# TYPE parley_store_seconds histogram',
        'parley_store_seconds_bucket{le="0.0005",op="batch"} 0',
        'parley_store_seconds_bucket{le="0.001",op="batch"} 0',
        'parley_store_seconds_bucket{le="0.0025",op="batch"} 0',
        'parley_store_seconds_bucket{le="0.005",op="batch"} 1',
        'parley_store_seconds_bucket{le="0.01",op="batch"} 1',
        'parley_store_seconds_bucket{le="0.025",op="batch"} 1',
        'parley_store_seconds_bucket{le="0.05",op="batch"} 1',
        'parley_store_seconds_bucket{le="0.1",op="batch"} 1',
        'parley_store_seconds_bucket{le="0.25",op="batch"} 1',
        'parley_store_seconds_bucket{le="1",op="batch"} 1',
        'parley_store_seconds_bucket{le="+Inf",op="batch"} 2',
        'parley_store_seconds_sum{op="batch"} 2.003',
        'parley_store_seconds_count{op="batch"} 2',
        '# HELP parley_open_files_exhausted 1 while the open-file limit is reached and new connections are closed as they arrive',
        '# TYPE parley_open_files_exhausted gauge',
        'parley_open_files_exhausted 0',
        '# HELP parley_open_files_exhausted_checks_total Once-a-second checks that found no file descriptor left',
        '# TYPE parley_open_files_exhausted_checks_total counter',
        'parley_open_files_exhausted_checks_total 0',
        '# HELP parley_group_commits_total Group commits by outcome (committed, epoch-moved, duplicate, not-a-member, unknown-group, queue-full)',
        '# TYPE parley_group_commits_total counter',
        'parley_group_commits_total{outcome="committed"} 2',
        'parley_group_commits_total{outcome="epoch-moved"} 1',
      ].join('\n'),
    );
    assert.equal(METRICS_CONTENT_TYPE, 'text/plain; version=0.0.4; charset=utf-8');
  });

  it('escapes label values (backslash, double quote, line feed)', async () => {
    const m = createMetrics(
      () => 0,
      async () => 0,
    );
    m.groupCommits.inc({ outcome: 'a"b\\c\nd' });
    assert.match(await m.render(), /^parley_group_commits_total\{outcome="a\\"b\\\\c\\nd"\} 1$/m);
  });

  it('adds prom-client process metrics under parley_process_, counting from before the first scrape', async () => {
    const m = createMetrics(
      () => 0,
      async () => 0,
    );
    m.messagesIn.inc(4);
    const text = await m.render();
    assert.match(text, /^# TYPE parley_process_process_cpu_user_seconds_total counter$/m);
    assert.match(text, /^parley_process_process_resident_memory_bytes \d+/m);
    assert.match(text, /^parley_messages_in_total 4$/m);
    // The second scrape reuses the registry (no "already registered" error) and sees new counts.
    m.messagesIn.inc();
    assert.match(await m.render(), /^parley_messages_in_total 5$/m);
  });
});

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('prom-client is loaded on the first scrape', () => {
  it('a server start does not load prom-client; its first /metrics answer does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-lazy-metrics-'));
    dirs.push(dir);
    const [started, scraped] = await runJsonChild<{ promClient: boolean }>(
      join(import.meta.dirname, 'helpers', 'started-modules.ts'),
      { dataDir: join(dir, 'server'), thenScrape: true },
      join(dir, 'loads'),
    );
    assert.equal(started?.promClient, false);
    assert.deepEqual(scraped, { promClient: true });
  });
});
