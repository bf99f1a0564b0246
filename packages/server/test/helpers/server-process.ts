/**
 * Runs a relay server as its own process (for tests that kill it with SIGKILL):
 * `node --import tsx --conditions=source server-process.ts PORT DATA_DIR [DB_URL SCHEMA BUS_URL]` prints the URL
 * line once listening.
 */
import { startServer } from '@parley/server';

const [port, dataDir, db, dbSchema, bus] = process.argv.slice(2);
// PARLEY_TEST_LIMITS (JSON) overrides limits, e.g. a small send burst for the rate-limit tests.
const limits = process.env.PARLEY_TEST_LIMITS === undefined ? undefined : JSON.parse(process.env.PARLEY_TEST_LIMITS);
const server = await startServer({
  // PARLEY_TEST_BLOBS: the --blobs setting (an s3:// address of the test's S3 server).
  ...(process.env.PARLEY_TEST_BLOBS === undefined ? {} : { blobs: process.env.PARLEY_TEST_BLOBS }),
  port: Number(port),
  dataDir,
  db,
  dbSchema,
  bus,
  // PARLEY_TEST_LOG_FILE: log at info level to that file (tests that read what the server said).
  ...(process.env.PARLEY_TEST_LOG_FILE === undefined
    ? { logLevel: 'silent' as const }
    : { logLevel: 'info' as const, logFile: process.env.PARLEY_TEST_LOG_FILE }),
  ...(limits === undefined ? {} : { limits }),
});
process.stdout.write(`listening ${server.url}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
