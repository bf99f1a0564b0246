#!/usr/bin/env node
// `npm start`: runs `parley serve` with its defaults (port 8787, ./parley-data), which also
// serves the browser client; builds that client first if `npm ci` has not (no network needed).
// Extra arguments pass through (`npm start -- --port 9000`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
if (!existsSync(`${root}packages/web/dist/index.html`)) {
  console.log('Building the browser client (packages/web/dist)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const built = spawnSync(npm, ['run', 'build:web'], { stdio: 'inherit', cwd: root });
  if (built.status !== 0) process.exit(built.status ?? 1);
}
const bin = new URL('../packages/cli/bin/parley.js', import.meta.url).pathname;
const result = spawnSync(process.execPath, [bin, 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
