#!/usr/bin/env node
// `npm start`: runs `parley serve` with its defaults (port 8787, ./parley-data); extra
// arguments pass through (`npm start -- --port 9000`).
import { spawnSync } from 'node:child_process';

const bin = new URL('../packages/cli/bin/parley.js', import.meta.url).pathname;
const result = spawnSync(process.execPath, [bin, 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
