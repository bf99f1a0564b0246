/**
 * Benchmark entry point: `npm run bench -- NAME [--seconds S]`. Prints one JSON line per figure
 * (`{"name","value","unit","baseline","ratio"}`); see bench/RESULTS.md for recorded runs.
 */
import { runRatchet } from './ratchet.ts';
import { runRelay } from './relay.ts';

const benchmarks: Record<string, (args: { seconds: number; connections?: number }) => Promise<unknown>> = {
  ratchet: runRatchet,
  relay: runRelay,
};

const [name, ...rest] = process.argv.slice(2);
const secondsFlag = rest.indexOf('--seconds');
const seconds = secondsFlag >= 0 ? Number(rest[secondsFlag + 1]) : 3;
const connectionsFlag = rest.indexOf('--connections');
const connections = connectionsFlag >= 0 ? Number(rest[connectionsFlag + 1]) : undefined;
if (!name || name === '--help' || !(name in benchmarks) || !(seconds > 0)) {
  process.stderr.write(
    `usage: npm run bench -- NAME [--seconds S] [--connections N]\nbenchmarks: ${Object.keys(benchmarks).join(', ')}\n`,
  );
  process.exit(name === '--help' ? 0 : 2);
}
await benchmarks[name]?.(connections === undefined ? { seconds } : { seconds, connections });
