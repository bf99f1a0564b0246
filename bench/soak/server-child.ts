/**
 * One relay server as its own process, for the soak runs (they SIGKILL it):
 * `node --import tsx --conditions=source server-child.ts PORT DATA_DIR [DB_URL SCHEMA BUS_URL]`
 * prints `listening URL` once it listens. PARLEY_SOAK_LOG_FILE: log at info level to that file.
 */
import { startServer } from '@parley/server';

const [port, dataDir, db, dbSchema, bus] = process.argv.slice(2);
const logFile = process.env.PARLEY_SOAK_LOG_FILE;
const server = await startServer({
  port: Number(port),
  dataDir,
  ...(db ? { db, dbSchema, bus } : {}),
  ...(logFile === undefined ? { logLevel: 'silent' as const } : { logLevel: 'info' as const, logFile }),
});
process.stdout.write(`listening ${server.url}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
