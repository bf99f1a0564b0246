/**
 * `parley serve`: runs the relay (and serves the browser client) until SIGINT/SIGTERM, then
 * drains and stops. `--print-web-digest` prints the browser bundle's SHA-256 and exits.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { bundleDigest, type ServerOptions, startServer } from '@parley/server';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Where `npm ci` / `npm run build:web` put the browser client: packages/web/dist. */
function defaultWebDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@parley/web/package.json')), 'dist');
}

/** Starts the server and resolves with the exit code once it has stopped. */
export async function serve(flags: Flags): Promise<number> {
  const webDir = resolve(flags['web-dir'] ?? defaultWebDir());
  if (flags['print-web-digest']) {
    if (!existsSync(join(webDir, 'index.html')))
      throw new CliError(`no built browser client in ${webDir}; run \`npm run build:web\``, EXIT.failure);
    process.stdout.write(`${bundleDigest(webDir).digest}\n`);
    return EXIT.ok;
  }
  const port = flags.port === undefined ? 8787 : Number(flags.port);
  const db = flags.db ?? process.env.PARLEY_DB;
  if (db !== undefined && !/^postgres(ql)?:\/\//.test(db))
    throw new CliError('--db takes a postgres:// URL', EXIT.usage);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('--port must be 0-65535', EXIT.usage);
  if (flags.sync !== undefined && flags.sync !== 'full' && flags.sync !== 'normal') {
    throw new CliError('--sync must be full or normal', EXIT.usage);
  }
  const days = flags['queue-ttl-days'] === undefined ? 30 : Number(flags['queue-ttl-days']);
  const hours = flags['send-log-hours'] === undefined ? 168 : Number(flags['send-log-hours']);
  if (!(days > 0) || !(hours >= 0))
    throw new CliError('--queue-ttl-days must be > 0 and --send-log-hours >= 0', EXIT.usage);
  const logLevel = flags['log-level'] ?? 'info';
  if (!LOG_LEVELS.has(logLevel))
    throw new CliError(`--log-level must be one of ${[...LOG_LEVELS].join(', ')}`, EXIT.usage);
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      port,
      host: flags.host ?? '127.0.0.1',
      dataDir: resolve(flags.data ?? './parley-data'),
      db: flags.db ?? process.env.PARLEY_DB,
      bus: flags.bus ?? process.env.PARLEY_BUS,
      inviteOnly: flags['invite-only'] ?? false,
      sync: (flags.sync as 'full' | 'normal' | undefined) ?? 'full',
      logLevel: logLevel as ServerOptions['logLevel'],
      limits: { queueTtlMs: days * 24 * 3600 * 1000, sendLogRetentionMs: hours * 3600 * 1000 },
      logFile: flags['log-file'] === undefined ? undefined : resolve(flags['log-file']),
      webDir,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(`port ${port} is in use; choose another with --port`, EXIT.failure);
    }
    throw err;
  }
  process.stdout.write(`Parley relay running at ${server.url}  (Ctrl-C to stop)\n`);
  process.stdout.write(
    server.webDigest === undefined
      ? `The browser client is not built (npm run build:web); the command-line client works.\n`
      : `Open ${server.url} in a browser to chat. Web client bundle sha256 ${server.webDigest}\n`,
  );
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return EXIT.ok;
}
