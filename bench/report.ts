/**
 * Benchmark output: one JSON line per figure, `{"name","value","unit","baseline","ratio"}`,
 * with the baseline measured in the same run; notes go to stderr.
 */

/** One measured figure against its same-run baseline. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: number;
  readonly ratio: number;
}

/** Prints a figure as a JSON line and returns it. */
export function report(name: string, value: number, unit: string, baseline: number): Figure {
  const round = (x: number) => Math.round(x * 100) / 100;
  const figure = { name, value: round(value), unit, baseline: round(baseline), ratio: round(value / baseline) };
  process.stdout.write(`${JSON.stringify(figure)}\n`);
  return figure;
}

/** Runs `step` repeatedly for about `seconds`, returning operations per second. */
export async function rate(seconds: number, step: () => Promise<void>): Promise<number> {
  const warmUntil = performance.now() + Math.min(200, seconds * 200);
  while (performance.now() < warmUntil) await step();
  let ops = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    await step();
    ops++;
  }
  return (ops * 1000) / (performance.now() - start);
}

/** Rates of two steps measured in alternation: per wall-clock second and per CPU second. */
export interface AlternatingRates {
  /** Operations per wall-clock second of `a` and of `b` (what the figures report). */
  readonly wall: readonly [number, number];
  /**
   * Operations per second of this process's CPU time (user + system, all threads, so garbage
   * collector threads count for the side that made the garbage): steadier than wall-clock time
   * when other work shares the cores.
   */
  readonly cpu: readonly [number, number];
}

/**
 * Measures two steps in alternating slices of about half a second, `seconds` in all for each.
 * On a shared machine the load drifts over a run; measuring one side after the other lets that
 * drift land on one side only, while alternation spreads it over both. Which side goes first
 * alternates too. Slices are long enough (hundreds of operations) that garbage one side leaves
 * behind costs the other side little.
 */
export async function alternatingRates(
  seconds: number,
  a: () => Promise<void>,
  b: () => Promise<void>,
): Promise<AlternatingRates> {
  const warm = Math.min(200, seconds * 200);
  const steps = [a, b];
  const ops = [0, 0];
  const elapsed = [0, 0];
  const cpu = [0, 0];
  for (const step of steps) {
    const until = performance.now() + warm;
    while (performance.now() < until) await step();
  }
  const slices = Math.max(1, Math.round(seconds * 2));
  const sliceMs = (seconds * 1000) / slices;
  for (let i = 0; i < slices; i++) {
    for (const which of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const step = steps[which] as () => Promise<void>;
      let n = 0;
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const end = start + sliceMs;
      while (performance.now() < end) {
        await step();
        n++;
      }
      const used = process.cpuUsage(cpuStart);
      ops[which] = (ops[which] as number) + n;
      elapsed[which] = (elapsed[which] as number) + performance.now() - start;
      cpu[which] = (cpu[which] as number) + (used.user + used.system) / 1000;
    }
  }
  const per = (x: number[], i: number) => ((ops[i] as number) * 1000) / (x[i] as number);
  return { wall: [per(elapsed, 0), per(elapsed, 1)], cpu: [per(cpu, 0), per(cpu, 1)] };
}
