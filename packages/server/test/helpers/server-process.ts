/**
 * Runs a relay server as its own process (for tests that kill it with SIGKILL):
 * `node --import tsx server-process.ts PORT DATA_DIR` prints the URL line once listening.
 */
import { startServer } from '@parley/server';

const [port, dataDir] = process.argv.slice(2);
const server = await startServer({ port: Number(port), dataDir, logLevel: 'silent' });
process.stdout.write(`listening ${server.url}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
