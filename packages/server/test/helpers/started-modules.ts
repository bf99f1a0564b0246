/**
 * Child process for lazy-groups.test.ts, run with scripts/record-loads.mjs: `node --import tsx
 * --conditions=source --import scripts/record-loads.mjs started-modules.ts OPTIONS_JSON` starts a
 * server with those options (port 0, silent), stops it, and prints one JSON line saying whether
 * ts-mls is among the modules the process (its storage thread included) loaded, whether
 * better-sqlite3 is in this thread's CommonJS module cache (only the storage threads need it), and
 * whether prom-client was loaded. With `"thenImport": true` it then imports
 * `@parley/protocol/groups` and prints a second line (the check's own control: the record does
 * show ts-mls once it is loaded); with `"thenScrape": true` it fetches `/metrics` before stopping
 * and prints a second line saying whether prom-client is loaded then; with `"reportS3": true` it
 * prints one more line saying whether the AWS S3 SDK was loaded (blobs/lazy-s3.test.ts).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { startServer } from '@parley/server';

/** Whether a module of package `pkg` is in the record of loaded modules. */
function loaded(pkg: string): boolean {
  const file = process.env.PARLEY_RECORD_LOADS;
  if (file === undefined) throw new Error('run with scripts/record-loads.mjs and PARLEY_RECORD_LOADS');
  return readFileSync(file, 'utf8')
    .split('\n')
    .some((url) => url.includes(`/node_modules/${pkg}/`));
}

/** Whether better-sqlite3 was loaded on this thread (ESM imports of a CommonJS package land in this cache too). */
function sqliteOnThisThread(): boolean {
  return Object.keys(createRequire(import.meta.url).cache).some((f) => f.includes('/node_modules/better-sqlite3/'));
}

const { thenImport, thenScrape, reportS3, ...options } = JSON.parse(process.argv[2] ?? '{}') as {
  thenImport?: boolean;
  thenScrape?: boolean;
  reportS3?: boolean;
} & Parameters<typeof startServer>[0];
const server = await startServer({ port: 0, logLevel: 'silent', ...options });
const started = {
  tsMls: loaded('ts-mls'),
  sqliteOnMainThread: sqliteOnThisThread(),
  promClient: loaded('prom-client'),
};
const awsSdk = loaded('@aws-sdk/client-s3');
if (thenScrape === true) await (await fetch(`${server.url}/metrics`)).text();
await server.close();
process.stdout.write(`${JSON.stringify(started)}\n`);
if (reportS3 === true) process.stdout.write(`${JSON.stringify({ awsSdk })}\n`);
if (thenScrape === true) process.stdout.write(`${JSON.stringify({ promClient: loaded('prom-client') })}\n`);
if (thenImport === true) {
  await import('@parley/protocol/groups');
  process.stdout.write(`${JSON.stringify({ tsMls: loaded('ts-mls') })}\n`);
}
