/**
 * Prometheus metrics for one node (`GET /metrics`): connections, messages in and out, queue
 * depth (counted on scrape), storage latency and group commits by outcome. Each server has its own registry, so
 * several servers in one process (tests) do not collide.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** The counters the relay updates. */
export interface RelayMetrics {
  readonly registry: Registry;
  readonly messagesIn: Counter;
  readonly messagesOut: Counter;
  readonly storeSeconds: Histogram<'op'>;
  /**
   * 1 while the open-file limit is reached (fd-watch.ts), and the checks that found it so. (The
   * descriptors open and the limit are prom-client's `parley_process_open_fds` and `_max_fds`.)
   */
  readonly openFilesExhausted: Gauge;
  readonly openFilesExhaustedChecks: Counter;
  /** Group commits by outcome (`committed`, `epoch-moved`, `duplicate`, …): contention shows here. */
  readonly groupCommits: Counter<'outcome'>;
}

/** Creates the registry; `connections` and `queueDepth` are read when Prometheus scrapes. */
export function createMetrics(connections: () => number, queueDepth: () => Promise<number>): RelayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'parley_process_' });
  new Gauge({
    name: 'parley_connections',
    help: 'Authenticated device connections on this node',
    registers: [registry],
    collect() {
      this.set(connections());
    },
  });
  new Gauge({
    name: 'parley_queue_depth',
    help: 'Messages stored and not yet acknowledged, all devices',
    registers: [registry],
    async collect() {
      this.set(await queueDepth());
    },
  });
  return {
    registry,
    openFilesExhausted: new Gauge({
      name: 'parley_open_files_exhausted',
      help: '1 while the open-file limit is reached and new connections are closed as they arrive',
      registers: [registry],
    }),
    openFilesExhaustedChecks: new Counter({
      name: 'parley_open_files_exhausted_checks_total',
      help: 'Once-a-second checks that found no file descriptor left',
      registers: [registry],
    }),
    messagesIn: new Counter({
      name: 'parley_messages_in_total',
      help: 'Ciphertexts accepted (one per recipient device)',
      registers: [registry],
    }),
    messagesOut: new Counter({
      name: 'parley_messages_out_total',
      help: 'Ciphertexts pushed to devices',
      registers: [registry],
    }),
    storeSeconds: new Histogram({
      name: 'parley_store_seconds',
      help: 'Storage latency by operation',
      labelNames: ['op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    groupCommits: new Counter({
      name: 'parley_group_commits_total',
      help: 'Group commits by outcome (committed, epoch-moved, duplicate, not-a-member, unknown-group, queue-full)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
}
