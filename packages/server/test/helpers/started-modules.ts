/**
 * Child process for lazy-groups.test.ts, run with scripts/record-loads.mjs: `node --import tsx
 * --conditions=source --import scripts/record-loads.mjs started-modules.ts OPTIONS_JSON` starts a
 * server with those options (port 0, silent), stops it, and prints one JSON line saying whether
 * ts-mls is among the modules the process (its storage thread included) loaded, and whether
 * better-sqlite3 is in this thread's CommonJS module cache (only the storage threads need it). With
 * `"thenImport": true` it then imports `@parley/protocol/groups` and prints a second line (the
 * check's own control: the record does show ts-mls once it is loaded).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startServer } from '@parley/server';

/** Whether a module of the ts-mls package is in the record of loaded modules. */
function tsMlsLoaded(): boolean {
  const file = process.env.PARLEY_RECORD_LOADS;
  if (file === undefined) throw new Error('run with scripts/record-loads.mjs and PARLEY_RECORD_LOADS');
  return readFileSync(file, 'utf8')
    .split('\n')
    .some((url) => url.includes('/node_modules/ts-mls/'));
}

/** Whether better-sqlite3 was loaded on this thread (ESM imports of a CommonJS package land in this cache too). */
function sqliteOnThisThread(): boolean {
  return Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/node_modules/better-sqlite3/'));
}

const { thenImport, ...options } = JSON.parse(process.argv[2] ?? '{}') as { thenImport?: boolean } & Parameters<
  typeof startServer
>[0];
const server = await startServer({ port: 0, logLevel: 'silent', ...options });
await server.close();
process.stdout.write(`${JSON.stringify({ tsMls: tsMlsLoaded(), sqliteOnMainThread: sqliteOnThisThread() })}\n`);
if (thenImport === true) {
  await import('@parley/protocol/groups');
  process.stdout.write(`${JSON.stringify({ tsMls: tsMlsLoaded() })}\n`);
}
