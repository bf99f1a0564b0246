#!/usr/bin/env node
// Runs every `*.test.ts` under packages/*/test and bench/test with Node's built-in test runner
// (TypeScript sources through tsx), after bringing the release build up to date. Node 20's `--test` does not expand globs, so we list files here.
// Usage: node scripts/test.mjs [path-substring ...]   (filters files, for local runs)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const roots = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  const t = join(root, 'packages', pkg, 'test');
  if (existsSync(t)) roots.push(t);
}
if (existsSync(join(root, 'bench', 'test'))) roots.push(join(root, 'bench', 'test'));

let files = roots.flatMap((r) => walk(r, [])).sort();
if (filters.length > 0) files = files.filter((f) => filters.some((s) => relative(root, f).includes(s)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// The `parley` command runs the compiled packages (dist/), and the CLI and browser tests run that
// command: build first (incremental, about a second when nothing changed) so they never test stale code.
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const build = spawnSync(process.execPath, [tsc, '-b', 'tsconfig.build.json'], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  console.error('the build (tsc -b tsconfig.build.json) failed');
  process.exit(build.status ?? 1);
}
const result = spawnSync(
  process.execPath,
  // Sources through tsx: the `source` export condition resolves @parley/* to src/ instead of dist/.
  // A hung test fails after 5 minutes instead of hanging CI.
  [
    '--import',
    'tsx',
    '--conditions=source',
    '--test',
    '--test-reporter=spec',
    '--test-concurrency=2',
    '--test-timeout=300000',
    ...files,
  ],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
