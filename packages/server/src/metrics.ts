/**
 * Prometheus metrics for one node (`GET /metrics`): connections, messages in and out, queue
 * depth (counted on scrape), storage latency and group commits by outcome, written here in the
 * Prometheus text format (version 0.0.4), plus the process metrics of prom-client's
 * `collectDefaultMetrics` under `parley_process_`. Each server has its own set, so several
 * servers in one process (tests) do not collide.
 *
 * prom-client is imported on the first scrape, not at start: an idle server that nobody scrapes
 * holds neither the package nor its event-loop and GC monitors (about 2 MB of an idle
 * `parley serve`, issue 18). The relay's own counters are plain numbers until then, so nothing
 * counted before the first scrape is lost. prom-client's process metrics start at the first
 * scrape: its CPU-seconds counters count from there (as a counter reset does, which `rate()`
 * absorbs), the event-loop lag and GC histograms sample from there; the gauges it reads from the
 * OS (memory, handles, start time) are whole from the first answer.
 */

/** The content type of the Prometheus text format this module writes. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** A monotonic counter. */
export interface Counter {
  inc(by?: number): void;
}

/** A gauge the relay sets. */
export interface Gauge {
  set(value: number): void;
}

/** A counter with one label. */
export interface LabelledCounter<L extends string> {
  inc(labels: Readonly<Record<L, string>>, by?: number): void;
}

/** A latency histogram with one label, in seconds. */
export interface Histogram<L extends string> {
  /** Starts timing; the returned function records the seconds since. */
  startTimer(labels: Readonly<Record<L, string>>): () => void;
  observe(labels: Readonly<Record<L, string>>, seconds: number): void;
}

/** The counters the relay updates. */
export interface RelayMetrics {
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
  readonly groupCommits: LabelledCounter<'outcome'>;
  /** The whole exposition, process metrics included (the first call loads prom-client). */
  render(): Promise<string>;
}

/** Escapes a label value (text format: backslash, double quote and line feed). */
function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as the text format spells it. */
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

/** The `# HELP` and `# TYPE` lines of a metric. */
function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

/** `{a="x",b="y"}` (empty when there are no labels). */
function labelSet(labels: readonly (readonly [string, string])[]): string {
  return labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${labelValue(v)}"`).join(',')}}`;
}

/** One metric of this module: its text, written on each scrape. */
type Exposed = () => string | Promise<string>;

function counter(exposed: Exposed[], name: string, help: string): Counter {
  let value = 0;
  exposed.push(() => `${header(name, help, 'counter')}${name} ${num(value)}\n`);
  return {
    inc(by = 1) {
      value += by;
    },
  };
}

function labelledCounter<L extends string>(
  exposed: Exposed[],
  name: string,
  help: string,
  label: L,
): LabelledCounter<L> {
  const values = new Map<string, number>();
  exposed.push(
    () =>
      header(name, help, 'counter') +
      [...values].map(([v, n]) => `${name}${labelSet([[label, v]])} ${num(n)}\n`).join(''),
  );
  return {
    inc(labels, by = 1) {
      const v = labels[label];
      values.set(v, (values.get(v) ?? 0) + by);
    },
  };
}

function histogram<L extends string>(
  exposed: Exposed[],
  name: string,
  help: string,
  label: L,
  buckets: readonly number[],
): Histogram<L> {
  const series = new Map<string, { counts: number[]; sum: number; count: number }>();
  exposed.push(() => {
    let text = header(name, help, 'histogram');
    for (const [v, s] of series) {
      // Buckets are cumulative: each counts the observations at or below its bound.
      buckets.forEach((le, i) => {
        text += `${name}_bucket${labelSet([
          ['le', num(le)],
          [label, v],
        ])} ${s.counts[i]}\n`;
      });
      text += `${name}_bucket${labelSet([
        ['le', '+Inf'],
        [label, v],
      ])} ${s.count}\n`;
      text += `${name}_sum${labelSet([[label, v]])} ${num(s.sum)}\n`;
      text += `${name}_count${labelSet([[label, v]])} ${s.count}\n`;
    }
    return text;
  });
  const observe = (labels: Readonly<Record<L, string>>, seconds: number) => {
    const v = labels[label];
    let s = series.get(v);
    if (s === undefined) {
      s = { counts: buckets.map(() => 0), sum: 0, count: 0 };
      series.set(v, s);
    }
    buckets.forEach((le, i) => {
      if (seconds <= le) (s.counts[i] as number) += 1;
    });
    s.sum += seconds;
    s.count += 1;
  };
  return {
    observe,
    startTimer(labels) {
      const start = performance.now();
      return () => observe(labels, (performance.now() - start) / 1000);
    },
  };
}

function gauge(exposed: Exposed[], name: string, help: string, read: () => number | Promise<number>): void {
  exposed.push(async () => `${header(name, help, 'gauge')}${name} ${num(await read())}\n`);
}

function settableGauge(exposed: Exposed[], name: string, help: string): Gauge {
  let value = 0;
  exposed.push(() => `${header(name, help, 'gauge')}${name} ${num(value)}\n`);
  return {
    set(v) {
      value = v;
    },
  };
}

/** prom-client's process metrics, registered on the first scrape; its registry's text per scrape. */
function processMetrics(): () => Promise<string> {
  let registry: Promise<{ metrics(): Promise<string> }> | undefined;
  return async () => {
    registry ??= import('prom-client').then(({ Registry, collectDefaultMetrics }) => {
      const r = new Registry();
      collectDefaultMetrics({ register: r, prefix: 'parley_process_' });
      return r;
    });
    try {
      return await (await registry).metrics();
    } catch {
      // prom-client could not be loaded (e.g. no file descriptor left to open it with: the
      // condition parley_open_files_exhausted reports). The relay's own metrics are still
      // written; the next scrape tries to load it again.
      registry = undefined;
      return '';
    }
  };
}

/** Creates the metrics; `connections` and `queueDepth` are read when Prometheus scrapes. */
export function createMetrics(connections: () => number, queueDepth: () => Promise<number>): RelayMetrics {
  const exposed: Exposed[] = [];
  gauge(exposed, 'parley_connections', 'Authenticated device connections on this node', connections);
  gauge(exposed, 'parley_queue_depth', 'Messages stored and not yet acknowledged, all devices', queueDepth);
  const metrics = {
    messagesIn: counter(exposed, 'parley_messages_in_total', 'Ciphertexts accepted (one per recipient device)'),
    messagesOut: counter(exposed, 'parley_messages_out_total', 'Ciphertexts pushed to devices'),
    storeSeconds: histogram(
      exposed,
      'parley_store_seconds',
      'Storage latency by operation',
      'op',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    ),
    openFilesExhausted: settableGauge(
      exposed,
      'parley_open_files_exhausted',
      '1 while the open-file limit is reached and new connections are closed as they arrive',
    ),
    openFilesExhaustedChecks: counter(
      exposed,
      'parley_open_files_exhausted_checks_total',
      'Once-a-second checks that found no file descriptor left',
    ),
    groupCommits: labelledCounter(
      exposed,
      'parley_group_commits_total',
      'Group commits by outcome (committed, epoch-moved, duplicate, not-a-member, unknown-group, queue-full)',
      'outcome',
    ),
  };
  const processText = processMetrics();
  return {
    ...metrics,
    async render() {
      const own = await Promise.all(exposed.map((e) => e()));
      return `${await processText()}\n${own.join('\n')}`;
    },
  };
}
