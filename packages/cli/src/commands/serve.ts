/**
 * `parley serve`: runs the relay (and serves the browser client) until SIGINT/SIGTERM, then
 * drains and stops; with `--tls-cert --tls-key` over HTTPS/WSS, reloading both files on SIGHUP. `--print-web-digest` prints the browser bundle's SHA-256 and exits. Its
 * flags' defaults and their help text come from the server's option table (`DEFAULT_OPTIONS`,
 * `DEFAULT_LIMITS`): a flag that is not given is left to the server's default.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import {
  BlobLocationError,
  bundleDigest,
  DEFAULT_OPTIONS,
  directoryFingerprint,
  LOG_LEVELS,
  LOW_OPEN_FILE_LIMIT,
  openFileLimits,
  parseListenAddress,
  parseS3BlobLocation,
  type ServerOptions,
  startServer,
} from '@parley/server';
import { parseByteSize } from '../byte-size.ts';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';
import { DAY_MS, HOUR_MS, MAX_ATTACHMENT_LIMIT } from './serve-help.ts';

/**
 * Warns on standard error when the open-file limit is below `LOW_OPEN_FILE_LIMIT` (every socket
 * is a descriptor). Node.js has already raised the soft limit to the hard one as it started.
 */
function reportOpenFileLimit(): void {
  const limits = openFileLimits();
  if (limits !== undefined && limits.soft < LOW_OPEN_FILE_LIMIT) {
    process.stderr.write(
      `warning: the open-file limit is ${limits.soft} (hard ${limits.hard}; each connection uses one): raise it to at least ` +
        `${LOW_OPEN_FILE_LIMIT} (ulimit -Hn as root, or LimitNOFILE= in a systemd unit)\n`,
    );
  }
}

/** A number flag, or undefined when it is not given. */
function numberFlag(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

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
  const options = serveOptions(flags, process.env, webDir);
  reportOpenFileLimit();
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(options);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(`port ${options.port} is in use; choose another with --port`, EXIT.failure);
    }
    throw err;
  }
  process.stdout.write(`Parley relay running at ${server.url}  (Ctrl-C to stop)\n`);
  process.stdout.write(`Key directory fingerprint ${directoryFingerprint(server.kt.directoryKey)}\n`);
  if (server.metricsUrl !== undefined) process.stdout.write(`Metrics at ${server.metricsUrl}/metrics\n`);
  process.stdout.write(
    server.webDigest === undefined
      ? `The browser client is not built (npm run build:web); the command-line client works.\n`
      : `Open ${server.url} in a browser to chat. Web client bundle sha256 ${server.webDigest}\n`,
  );
  // A renewed certificate is picked up without a restart; the server logs whether it loaded.
  const reload = (): void => {
    server.reloadTls();
  };
  if (options.tls !== undefined) process.on('SIGHUP', reload);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', reload);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return EXIT.ok;
}

/**
 * The server options `flags` (and `$PARLEY_DB`, `$PARLEY_BUS` in `env`) ask for, checked; an
 * option whose flag is not given is left out, so the server's default applies. Throws a usage
 * `CliError` for a bad value.
 */
export function serveOptions(
  flags: Flags,
  env: Readonly<Record<string, string | undefined>>,
  webDir: string,
): Parameters<typeof startServer>[0] & { port: number } {
  const port = numberFlag(flags.port) ?? DEFAULT_OPTIONS.port;
  const db = flags.db ?? env.PARLEY_DB;
  if (db !== undefined && !/^postgres(ql)?:\/\//.test(db))
    throw new CliError('--db takes a postgres:// URL', EXIT.usage);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CliError('--port must be 0-65535', EXIT.usage);
  if (flags.sync !== undefined && flags.sync !== 'full' && flags.sync !== 'normal') {
    throw new CliError('--sync must be full or normal', EXIT.usage);
  }
  const days = numberFlag(flags['queue-ttl-days']);
  const hours = numberFlag(flags['send-log-hours']);
  if (!(days === undefined || days > 0) || !(hours === undefined || hours >= 0))
    throw new CliError('--queue-ttl-days must be > 0 and --send-log-hours >= 0', EXIT.usage);
  const dbMaxMb = numberFlag(flags['db-max-mb']);
  if (dbMaxMb !== undefined && !(dbMaxMb >= 1)) throw new CliError('--db-max-mb must be at least 1', EXIT.usage);
  const share = numberFlag(flags['queue-sender-share']);
  if (!(share === undefined || (Number.isInteger(share) && share >= 1 && share <= 100)))
    throw new CliError('--queue-sender-share must be a whole percent, 1-100', EXIT.usage);
  const metricsListen = flags['metrics-listen'];
  if (metricsListen !== undefined) {
    try {
      parseListenAddress(metricsListen);
    } catch {
      throw new CliError('--metrics-listen takes HOST:PORT (for example 127.0.0.1:9464)', EXIT.usage);
    }
  }
  const metricsToken = flags['metrics-token'] ?? env.PARLEY_METRICS_TOKEN;
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,256}$/.test(metricsToken))
    throw new CliError('--metrics-token must be 16-256 printable characters without spaces', EXIT.usage);
  const blobQuota = flags['blob-quota'] === undefined ? undefined : parseByteSize(flags['blob-quota']);
  const maxAttachment = flags['max-attachment'] === undefined ? undefined : parseByteSize(flags['max-attachment']);
  if ((flags['blob-quota'] !== undefined && blobQuota === undefined) || (maxAttachment ?? 0) > MAX_ATTACHMENT_LIMIT)
    throw new CliError('--blob-quota takes a size such as 5GiB; --max-attachment a size up to 3GiB', EXIT.usage);
  if (flags['max-attachment'] !== undefined && maxAttachment === undefined)
    throw new CliError('--max-attachment takes a size such as 2GiB', EXIT.usage);
  const blobs = flags.blobs ?? env.PARLEY_BLOBS;
  if (blobs !== undefined && blobs !== 'fs') {
    try {
      parseS3BlobLocation(blobs, env);
    } catch (err) {
      throw new CliError(
        err instanceof BlobLocationError ? err.message : '--blobs takes fs or an s3:// address',
        EXIT.usage,
      );
    }
  }
  const tlsCert = flags['tls-cert'];
  const tlsKey = flags['tls-key'];
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw new CliError(
      '--tls-cert and --tls-key go together (the certificate and its private key, PEM files)',
      EXIT.usage,
    );
  const ktEpoch = numberFlag(flags['kt-epoch']);
  if (ktEpoch !== undefined && !(Number.isFinite(ktEpoch) && ktEpoch >= 0.1 && ktEpoch <= 3600))
    throw new CliError('--kt-epoch takes seconds between directory epochs, 0.1-3600', EXIT.usage);
  const ktRequire = numberFlag(flags['kt-require-witnesses']);
  const ktWitnessKeys = (flags['kt-witness-key'] ?? []).map((k) => Buffer.from(k, 'base64url'));
  if (ktWitnessKeys.some((k) => k.length !== 32))
    throw new CliError('--kt-witness-key takes a witness Ed25519 public key (32 bytes, base64url)', EXIT.usage);
  if (ktRequire !== undefined && !(Number.isInteger(ktRequire) && ktRequire >= 0 && ktRequire <= ktWitnessKeys.length))
    throw new CliError('--kt-require-witnesses takes 0 up to the number of --kt-witness-key given', EXIT.usage);
  const logLevel = flags['log-level'];
  if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel))
    throw new CliError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`, EXIT.usage);
  return {
    port,
    ...(flags.host === undefined ? {} : { host: flags.host }),
    dataDir: resolve(flags.data ?? DEFAULT_OPTIONS.dataDir),
    db,
    bus: flags.bus ?? env.PARLEY_BUS,
    ...(blobs === undefined ? {} : { blobs }),
    ...(flags['invite-only'] === undefined ? {} : { inviteOnly: flags['invite-only'] }),
    ...(ktEpoch === undefined ? {} : { ktEpochMs: Math.round(ktEpoch * 1000) }),
    ...(flags['kt-key-file'] === undefined ? {} : { ktKeyFile: resolve(flags['kt-key-file']) }),
    ...(ktRequire === undefined ? {} : { ktRequireWitnesses: ktRequire }),
    ...(ktWitnessKeys.length === 0 ? {} : { ktWitnessKeys: ktWitnessKeys.map((k) => new Uint8Array(k)) }),
    ...(flags.sync === undefined ? {} : { sync: flags.sync }),
    ...(dbMaxMb === undefined ? {} : { sqliteMaxBytes: Math.floor(dbMaxMb * 1024 * 1024) }),
    ...(logLevel === undefined ? {} : { logLevel: logLevel as ServerOptions['logLevel'] }),
    limits: {
      ...(days === undefined ? {} : { queueTtlMs: days * DAY_MS }),
      ...(hours === undefined ? {} : { sendLogRetentionMs: hours * HOUR_MS }),
      ...(blobQuota === undefined ? {} : { blobQuotaBytes: blobQuota }),
      ...(maxAttachment === undefined ? {} : { maxAttachmentBytes: maxAttachment }),
      ...(share === undefined ? {} : { queueSenderSharePercent: share }),
    },
    logFile: flags['log-file'] === undefined ? undefined : resolve(flags['log-file']),
    webDir,
    metricsListen,
    metricsToken,
    tls: tlsCert === undefined || tlsKey === undefined ? undefined : { cert: resolve(tlsCert), key: resolve(tlsKey) },
  };
}
