#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// `npm start`: runs `parley serve` once the relay server exists (issue 3). Until then it says so
// plainly and exits non-zero, rather than pretending to start something.
import { existsSync } from 'node:fs';

const bin = new URL('../packages/cli/bin/parley.js', import.meta.url).pathname;
if (!existsSync(bin)) {
  console.error('Parley: the relay server and the `parley` CLI are not built yet (issue 3).');
  console.error('What exists today is the protocol core: run `npm test` and `npm run bench -- ratchet`.');
  process.exit(1);
}
const result = spawnSync(process.execPath, [bin, 'serve', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
