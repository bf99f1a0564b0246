/**
 * The `parley serve` part of `parley --help`, its defaults read from the server's option table.
 * Its own module, importing only `@parley/server/options` (no I/O, no dependencies), so that
 * printing the help does not load the server.
 */
import { DEFAULT_LIMITS, DEFAULT_OPTIONS, LOG_LEVELS } from '@parley/server/options';

/** Milliseconds in an hour and a day: the units of `--send-log-hours` and `--queue-ttl-days`. */
export const HOUR_MS = 3600 * 1000;
export const DAY_MS = 24 * HOUR_MS;

/** Largest `--max-attachment`: a padded blob's size must fit the slot request's 32-bit field. */
export const MAX_ATTACHMENT_LIMIT = 3 * 1024 ** 3;

/** The server `register` and `link` talk to without --server: a `parley serve` started with its defaults. */
export const DEFAULT_SERVER_URL = `http://${DEFAULT_OPTIONS.host}:${DEFAULT_OPTIONS.port}`;

/** The `parley serve` part of `parley --help`, its defaults read from the server's option table. */
export const SERVE_HELP = `  parley serve [--port N] [--host H] [--data DIR] [--db postgres://…] [--bus nats://…|redis://…] [--invite-only]
               [--sync full|normal] [--db-max-mb N] [--log-level L] [--log-file FILE]
               [--queue-ttl-days D] [--send-log-hours H] [--queue-sender-share P] [--web-dir DIR] [--print-web-digest]
               [--metrics-listen HOST:PORT] [--metrics-token T] [--tls-cert FILE --tls-key FILE]
               [--blobs fs|s3://BUCKET[/PREFIX]?endpoint=…&region=…] [--blob-quota SIZE] [--max-attachment SIZE]
               [--kt-epoch S] [--kt-key-file FILE] [--kt-require-witnesses K --kt-witness-key B64 …]
      Run the relay server, and serve the browser client at its URL. --port (default ${DEFAULT_OPTIONS.port}), --host (default ${DEFAULT_OPTIONS.host}; 0.0.0.0 for all
      interfaces), --data: directory of the SQLite database (default ${DEFAULT_OPTIONS.dataDir}),
      --db (or $PARLEY_DB): store in PostgreSQL instead of SQLite (migrations run at start-up),
      --bus (or $PARLEY_BUS): deliver across several nodes sharing that database (NATS or Redis),
      --invite-only: registration needs a code from \`parley admin invite\`, --sync: full makes an
      acknowledged message survive power loss, normal only a crash (default ${DEFAULT_OPTIONS.sync}),
      --db-max-mb: cap the SQLite file at N MiB (no cap by default): past it sends are refused with
      STORAGE_UNAVAILABLE, as on a full disk, and clients keep them queued; the disk keeps room for the WAL.
      --log-level: ${LOG_LEVELS.join('|')} (default ${DEFAULT_OPTIONS.logLevel}), --log-file: append JSON
      log lines to FILE instead of standard output. Logs never contain message bodies or keys.
      Retention: --queue-ttl-days (default ${DEFAULT_LIMITS.queueTtlMs / DAY_MS}) how long undelivered messages wait,
      --send-log-hours (default ${DEFAULT_LIMITS.sendLogRetentionMs / HOUR_MS}; 0 = about a minute) how long send ids are kept for retries.
      No IP addresses or last-seen times are kept at all.
      --queue-sender-share (default ${DEFAULT_LIMITS.queueSenderSharePercent}): percent of a device's queue (${DEFAULT_LIMITS.maxQueuePerDevice} messages) one other account may fill;
      past it that sender gets QUEUE_FULL while others still get in.
      Attachments: encrypted, padded blobs in DIR/blobs, or with --blobs s3://… (or $PARLEY_BLOBS) in an
      S3-compatible bucket several nodes share (credentials: $AWS_ACCESS_KEY_ID/$AWS_SECRET_ACCESS_KEY); --blob-quota (default ${DEFAULT_LIMITS.blobQuotaBytes / 1024 ** 3}GiB) per account,
      --max-attachment (default ${DEFAULT_LIMITS.maxAttachmentBytes / 1024 ** 3}GiB, at most ${MAX_ATTACHMENT_LIMIT / 1024 ** 3}GiB); blobs expire with --queue-ttl-days, uploads not
      finished within ${DEFAULT_LIMITS.abandonedUploadMs / HOUR_MS} h are removed; downloads: ${DEFAULT_LIMITS.blobDownloadBurstPerSource} then ${DEFAULT_LIMITS.blobDownloadRatePerSource}/s per source address.
      --web-dir: the built browser client to serve (default packages/web/dist);
      --print-web-digest: print the SHA-256 of that bundle (compare it with a release) and exit.
      /healthz says ok, shutting-down, or degraded with its reasons (storage-full, blobs-full, blobs-unwritable,
      open-files-exhausted; 503).
      /metrics (how busy the server is) answers loopback peers only,
      unless --metrics-token (or $PARLEY_METRICS_TOKEN, kept out of the process list) lets a peer with
      "Authorization: Bearer T" read it, or --metrics-listen serves it on a listener of its own (and not on --port).
      --tls-cert FILE --tls-key FILE: serve HTTPS and WSS itself with that certificate (PEM, chain
      after it) and key; the URL printed is https://. On SIGHUP both files are read again (a pair that
      does not load keeps the current certificate and logs an error). Without them, serve beyond this
      machine only behind a TLS reverse proxy: clients refuse a remote http:// server without --insecure.
      Per source address: ${DEFAULT_LIMITS.maxUnauthenticatedPerSource} sockets before auth, ${DEFAULT_LIMITS.maxLinkChannelsPerSource} link channels, ${DEFAULT_LIMITS.registerBurstPerSource} registrations then ${DEFAULT_LIMITS.registerRatePerSource * 3600} an hour
      (${DEFAULT_LIMITS.registerRate}/s for the whole server); the source is the TCP peer, so behind a proxy limit per client there.
      Per device: ${DEFAULT_LIMITS.reconnectBurstPerDevice} connections then one every ${1 / DEFAULT_LIMITS.reconnectRatePerDevice} s (more get RATE_LIMITED on auth);
      deliveries pause while a connection holds over ${DEFAULT_LIMITS.maxBufferedBytesPerConnection / 1024 / 1024} MiB unsent.
      Key transparency: --kt-epoch (default ${DEFAULT_OPTIONS.ktEpochMs / 1000}) seconds between directory epochs; the directory
      keys are in DATA/kt-keys.json (created 0600 at first start; --kt-key-file: a copy shared by every
      PostgreSQL node); the directory key's fingerprint is printed at start. --kt-witness-key (repeatable)
      and --kt-require-witnesses K tell clients to refuse heads without K cosignatures from those witnesses.
`;
