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
