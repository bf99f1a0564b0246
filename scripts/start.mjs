#!/usr/bin/env node
// `npm start`: runs `parley serve` with its defaults (port 8787, ./parley-data), which also
// serves the browser client. `npm ci` builds both the packages (tsc -b into each dist/) and the
// browser client; if either is missing this builds it first (no network needed). The server then
// runs compiled JavaScript: no TypeScript compiler at run time.
// Extra arguments pass through (`npm start -- --port 9000`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const steps = [
  { built: 'packages/cli/dist/main.js', script: 'build', what: 'the packages (packages/*/dist)' },
  { built: 'packages/web/dist/index.html', script: 'build:web', what: 'the browser client (packages/web/dist)' },
];
for (const step of steps) {
  if (existsSync(`${root}${step.built}`)) continue;
  console.log(`Building ${step.what}…`);
  const built = spawnSync(npm, ['run', step.script], { stdio: 'inherit', cwd: root });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const bin = new URL('../packages/cli/bin/parley.js', import.meta.url).pathname;
const result = spawnSync(process.execPath, [bin, 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
