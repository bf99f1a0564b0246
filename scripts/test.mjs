#!/usr/bin/env node
// Runs every `*.test.ts` under packages/*/test and bench/test with Node's built-in test runner
// (TypeScript through tsx). Node 20's `--test` does not expand globs, so we list files here.
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
const result = spawnSync(
  process.execPath,
  // A hung test fails after 3 minutes instead of hanging CI.
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=300000', ...files],
  { stdio: 'inherit', cwd: root },
);
process.exit(result.status ?? 1);
