/**
 * `npm run fuzz -- TARGET|--all [--runs N] [--write-seeds]`: fuzzes decoders (docs/reliability.md,
 * "Fuzzing"). Seeds come from fuzz/corpus/TARGET/ (committed) plus fresh ones from the encoders;
 * `--write-seeds` rewrites the committed corpus. Each finding is written to
 * fuzz/findings/TARGET-N.bin and the command exits 1.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzz } from './engine.ts';
import { TARGETS } from './targets.ts';

const here = new URL('.', import.meta.url).pathname;
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 100_000;
const names = args.includes('--all')
  ? Object.keys(TARGETS)
  : args.filter((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1));
if (names.length === 0 || !Number.isSafeInteger(runs) || runs < 1 || names.some((n) => !(n in TARGETS))) {
  console.error(
    `usage: npm run fuzz -- TARGET|--all [--runs N] [--write-seeds]\ntargets: ${Object.keys(TARGETS).join(', ')}`,
  );
  process.exit(2);
}

export function committedSeeds(name: string): Uint8Array[] {
  const dir = join(here, 'corpus', name);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

let failed = false;
for (const name of names) {
  const target = TARGETS[name];
  if (!target) continue;
  const fresh = await target.seeds();
  if (args.includes('--write-seeds')) {
    const dir = join(here, 'corpus', name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const [i, s] of fresh.entries()) writeFileSync(join(dir, `seed-${i}.bin`), s);
  }
  const result = await fuzz(target, [...committedSeeds(name), ...fresh], runs, undefined, undefined, {
    every: 50_000,
    label: name,
  });
  const rate = Math.round(result.runs / (result.ms / 1000));
  console.log(
    `${name}: ${result.runs} inputs in ${(result.ms / 1000).toFixed(1)} s (${rate}/s), corpus ${result.corpus}, findings ${result.findings.length}`,
  );
  result.findings.forEach((f, i) => {
    failed = true;
    mkdirSync(join(here, 'findings'), { recursive: true });
    const file = join(here, 'findings', `${name}-${i}.bin`);
    writeFileSync(file, f.input);
    console.log(
      `  ${f.kind}: ${file} (${f.input.length} bytes)\n    ${f.detail.split('\n').slice(0, 4).join('\n    ')}`,
    );
  });
}
process.exit(failed ? 1 : 0);
