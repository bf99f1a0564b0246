/**
 * Runs `bench/run.ts` as `npm run bench` would and returns its figures, failing the test if it
 * exits non-zero or prints anything but one JSON figure per line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** One printed figure. */
export interface PrintedFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: number;
  readonly ratio: number;
}

/** Runs one benchmark with `args` and parses its output. */
export function runBench(args: readonly string[], timeoutMs: number): PrintedFigure[] {
  return runBenchWithNotes(args, timeoutMs).figures;
}

/** `runBench`, also returning the notes the benchmark wrote to stderr, one per line. */
export function runBenchWithNotes(
  args: readonly string[],
  timeoutMs: number,
): { figures: PrintedFigure[]; notes: string[] } {
  const root = new URL('../..', import.meta.url).pathname;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--conditions=source', 'bench/run.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  assert.equal(run.status, 0, run.stderr);
  const figures = run.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as PrintedFigure);
  for (const f of figures) assert.deepEqual(Object.keys(f), ['name', 'value', 'unit', 'baseline', 'ratio']);
  return { figures, notes: run.stderr.split('\n').filter((l) => l.length > 0) };
}
