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

/**
 * Measures two steps in alternating slices of about half a second, `seconds` in all for each,
 * and returns [operations per second of `a`, of `b`]. On a shared machine the load drifts over a
 * run; measuring one side after the other lets that drift land on one side only, while
 * alternation spreads it over both. Which side goes first alternates too. Slices are long enough
 * (hundreds of operations) that garbage one side leaves behind costs the other side little.
 */
export async function alternatingRates(
  seconds: number,
  a: () => Promise<void>,
  b: () => Promise<void>,
): Promise<[number, number]> {
  const warm = Math.min(200, seconds * 200);
  const steps = [a, b];
  const ops = [0, 0];
  const elapsed = [0, 0];
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
      const end = start + sliceMs;
      while (performance.now() < end) {
        await step();
        n++;
      }
      ops[which] = (ops[which] as number) + n;
      elapsed[which] = (elapsed[which] as number) + performance.now() - start;
    }
  }
  return [((ops[0] as number) * 1000) / (elapsed[0] as number), ((ops[1] as number) * 1000) / (elapsed[1] as number)];
}
