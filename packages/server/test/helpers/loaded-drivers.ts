/**
 * Child process for adapters.test.ts: `node --import tsx loaded-drivers.ts OPTIONS_JSON` starts a
 * server with those options (port 0, silent), stops it, and prints one JSON line naming which of
 * the PostgreSQL, NATS and Redis drivers are in the process's module cache. With `"thenImport":
 * true` it then imports all three itself and prints a second line (the check's own control: the
 * cache does show a driver once it is loaded).
 */
import { createRequire } from 'node:module';
import { startServer } from '@parley/server';

const DRIVERS = { pg: '/node_modules/pg/', nats: '/node_modules/nats/', redis: '/node_modules/@redis/' } as const;

/** The drivers whose files are in the module cache (ESM imports of these CommonJS packages land there too). */
function loadedDrivers(): string[] {
  const files = Object.keys(createRequire(import.meta.url).cache);
  return Object.entries(DRIVERS)
    .filter(([, dir]) => files.some((f) => f.includes(dir)))
    .map(([name]) => name);
}

const { thenImport, ...options } = JSON.parse(process.argv[2] ?? '{}') as { thenImport?: boolean } & Parameters<
  typeof startServer
>[0];
const server = await startServer({ port: 0, logLevel: 'silent', ...options });
await server.close();
process.stdout.write(`${JSON.stringify({ loaded: loadedDrivers() })}\n`);
if (thenImport === true) {
  await Promise.all([import('pg'), import('nats'), import('redis')]);
  process.stdout.write(`${JSON.stringify({ loaded: loadedDrivers() })}\n`);
}
