#!/usr/bin/env node
// The `parley` command: the compiled JavaScript in dist/, built by `npm ci` (the root `prepare`
// step runs `tsc -b`; `npm run build` again after changing the sources). No TypeScript at run time.
import { existsSync } from 'node:fs';
import module from 'node:module';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('parley: not built (no packages/cli/dist/main.js); run `npm run build` in the repository\n');
  process.exit(1);
}
// Node.js 22.1 and later keep the code they compile in an on-disk cache (in the temporary
// directory), so later runs of a command skip most of the compiling; older versions lack it.
module.enableCompileCache?.();
await import(main.href);
