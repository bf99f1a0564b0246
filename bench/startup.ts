/**
 * `npm run bench -- startup [--runs N]`: what a person waits for and what an idle server holds,
 * measured on the `parley` command exactly as installed (packages/cli/bin/parley.js), each
 * against a bare `node` measured in the same run:
 * - `startup.version_ms`: wall time of `parley --version` (baseline `node -e ''`);
 * - `startup.serve_healthy_ms`: from spawning `parley serve` on SQLite to its first `/healthz`
 *   answer (baseline `node -e ''`);
 * - `startup.serve_idle_rss_mb`: the resident memory of that server, idle, two seconds after it
 *   is healthy (all its threads; baseline: an idle `node -e 'setInterval(…)'`);
 * - `startup.send_ms`: `parley send` to a running local server, end to end (two throwaway homes
 *   registered first; the first send, which sets up the session, is left out; baseline `node -e ''`).
 * Each time is the median of `--runs` (default 5). Linux only (resident memory from /proc).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { report } from './report.ts';

const BIN = new URL('../packages/cli/bin/parley.js', import.meta.url).pathname;

/** Targets from issue 18, printed beside each figure on stderr. */
const TARGETS = { version_ms: 150, serve_healthy_ms: 1000, serve_idle_rss_mb: 80, send_ms: 500 } as const;

interface Run {
  readonly ms: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node ...args` to its end (killed after `timeoutMs`) and times it from spawn to exit. */
function timed(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: performance.now() - start, code, stdout, stderr }));
  });
}

/** Runs `parley ...args`, failing the benchmark when it does not exit 0. */
async function parley(args: readonly string[]): Promise<Run> {
  const run = await timed([BIN, ...args]);
  if (run.code !== 0) throw new Error(`parley ${args[0]} exited ${run.code}: ${run.stderr.trim()}`);
  return run;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Resident memory of process `pid` in MB (all threads), from /proc. */
function rssMb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A running `parley serve`: its URL, when it was spawned and when it first answered /healthz. */
interface Served {
  readonly url: string;
  readonly pid: number;
  readonly healthyMs: number;
  stop(): Promise<void>;
}

/** Spawns `parley serve` on a free port and waits (up to 60 s) for its first /healthz answer. */
async function serve(dataDir: string): Promise<Served> {
  const start = performance.now();
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data', dataDir, '--log-level', 'silent'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`parley serve did not start in 60 s: ${err.trim()}`)), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`parley serve exited ${code}: ${err.trim()}`));
    });
  });
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (performance.now() - start > 60_000) throw new Error('parley serve never answered /healthz');
    await sleep(5);
  }
  const healthyMs = performance.now() - start;
  return {
    url,
    pid: child.pid as number,
    healthyMs,
    stop: async () => {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Idle resident memory of a bare Node.js process, in MB. */
async function bareNodeRssMb(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await sleep(1000);
  const mb = rssMb(child.pid as number);
  child.kill('SIGKILL');
  return mb;
}

function note(what: string, value: number, target: number, unit: string): void {
  const verdict = value <= target ? 'meets' : 'misses';
  process.stderr.write(
    `startup bench: ${what} ${value.toFixed(1)} ${unit} ${verdict} the target of ${target} ${unit}\n`,
  );
}

/** Runs the startup benchmark. */
export async function runStartup(args: { runs?: number }): Promise<void> {
  const runs = args.runs ?? 5;
  const dir = mkdtempSync(join(tmpdir(), 'parley-startup-'));
  try {
    const bare: number[] = [];
    const version: number[] = [];
    for (let i = 0; i < runs; i++) {
      bare.push((await timed(['-e', ''])).ms);
      version.push((await parley(['--version'])).ms);
    }
    const nodeMs = median(bare);
    report('startup.version_ms', median(version), 'ms', nodeMs);
    note('parley --version', median(version), TARGETS.version_ms, 'ms');

    const healthy: number[] = [];
    for (let i = 0; i < runs; i++) {
      const server = await serve(join(dir, `data-${i}`));
      healthy.push(server.healthyMs);
      await server.stop();
    }
    report('startup.serve_healthy_ms', median(healthy), 'ms', nodeMs);
    note('parley serve start to healthy', median(healthy), TARGETS.serve_healthy_ms, 'ms');

    const server = await serve(join(dir, 'data'));
    try {
      await sleep(2000);
      const rss = rssMb(server.pid);
      report('startup.serve_idle_rss_mb', rss, 'MB', await bareNodeRssMb());
      note('idle parley serve', rss, TARGETS.serve_idle_rss_mb, 'MB');

      const alice = join(dir, 'alice');
      const bob = join(dir, 'bob');
      await parley(['register', 'alice', '--server', server.url, '--home', alice]);
      await parley(['register', 'bob', '--server', server.url, '--home', bob]);
      const first = await parley(['send', 'bob', 'first', '--home', alice]);
      const sends: number[] = [];
      for (let i = 0; i < runs; i++) sends.push((await parley(['send', 'bob', `hello ${i}`, '--home', alice])).ms);
      report('startup.send_ms', median(sends), 'ms', nodeMs);
      note('parley send', median(sends), TARGETS.send_ms, 'ms');
      process.stderr.write(`startup bench: the first send (session setup) took ${first.ms.toFixed(0)} ms\n`);
    } finally {
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
