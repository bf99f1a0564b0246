/**
 * Server options and their defaults. Every limit and default is here, named once, so the relay
 * ops, `parley serve` (its flag defaults and `--help`), the docs and the tests all read one
 * table. Sizes that are protocol facts (key and signature lengths, group id length, message id
 * pattern) are not repeated here: they come from `@parley/protocol`.
 */
import type { BlobStore } from './blobs/blob-store.ts';

/** Where a PEM certificate (its chain after it) and its private key are (`parley serve --tls-cert --tls-key`). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
}

/** Limits on what one connection or account may do. */
export interface Limits {
  /** Largest frame handled with a typed error; larger ones up to `hardFrameBytes` get FRAME_TOO_LARGE. */
  readonly maxFrameBytes: number;
  /** Frames above this close the socket (1009) before they are buffered. */
  readonly hardFrameBytes: number;
  /** Largest single ciphertext body (1:1 or group application message), in bytes after base64url decoding. */
  readonly maxMessageBytes: number;
  /** Largest MLS commit or welcome in a `group-commit`, in bytes after decoding. */
  readonly maxGroupHandshakeBytes: number;
  /** Most devices a group's delivery list may name (the fan-out of one group message). */
  readonly maxGroupDevices: number;
  /** Messages one device's queue may hold before sends to it get QUEUE_FULL. */
  readonly maxQueuePerDevice: number;
  /**
   * Body bytes one device's queue may hold before sends to it get QUEUE_FULL. A group message's
   * body is stored once however many devices it is queued for, but counts for each of them.
   */
  readonly maxQueueBytesPerDevice: number;
  /**
   * Percent (1-100) of one device's queue, in messages and in bytes, that one other account's
   * messages may hold; past it that sender gets QUEUE_FULL (reason `sender-share`) while others
   * still get in. The account's own devices are not held to it.
   */
  readonly queueSenderSharePercent: number;
  /** How long a queued message waits for its device. */
  readonly queueTtlMs: number;
  /**
   * How long the transport ids of sends are kept to make retries idempotent (retention: 0 keeps
   * them only until the next purge, at most a minute; clients still drop duplicates).
   */
  readonly sendLogRetentionMs: number;
  /** Time from connect to a successful auth or register before the socket is closed. */
  readonly handshakeTimeoutMs: number;
  /** Failed auth attempts one connection may make before it is closed. */
  readonly maxAuthFailures: number;
  /** Frames per second per connection (token bucket rate) and burst. */
  readonly frameRate: number;
  readonly frameBurst: number;
  /** Sends per second per account (all its devices) and burst. */
  readonly sendRate: number;
  readonly sendBurst: number;
  /** Bundle fetches per second per account and burst (one-time prekeys are scarce). */
  readonly fetchRate: number;
  readonly fetchBurst: number;
  /**
   * Fetches of one account's bundles (or, counted apart, KeyPackages) by one requesting account,
   * per second, and burst: past it the requester gets RATE_LIMITED.
   */
  readonly targetFetchRatePerRequester: number;
  readonly targetFetchBurstPerRequester: number;
  /**
   * Fetches of one account's bundles (or, counted apart, KeyPackages) by all requesters together,
   * per second, and burst: past it one-time stock is spared (the signed and last-resort keys are
   * served, so nobody is refused) and the account's devices get `stock-drained`.
   */
  readonly targetFetchRate: number;
  readonly targetFetchBurst: number;
  /** Least time between two `stock-drained` notices to one device for one stock. */
  readonly drainNoticeMs: number;
  /** With several nodes, how often each tells the others what it allowed per account (they share one limit). */
  readonly usageReportMs: number;
  /** Delivered-but-unacknowledged messages per connection. */
  readonly maxInFlight: number;
  /**
   * Bytes a connection's socket may hold unsent before deliveries to it pause (they resume when it
   * drains); a connection being closed with more than this buffered is dropped without the close handshake.
   */
  readonly maxBufferedBytesPerConnection: number;
  /** Connections (authentications) per second one device may open, and burst; past it `auth` gets RATE_LIMITED. */
  readonly reconnectRatePerDevice: number;
  readonly reconnectBurstPerDevice: number;
  /** One-time prekeys most a device may have stored. */
  readonly maxStoredPreKeys: number;
  /** Below this many one-time prekeys (X25519 or ML-KEM) a device is told to refill. */
  readonly lowPreKeyThreshold: number;
  /** One-time MLS KeyPackages most a device may have stored. */
  readonly maxStoredKeyPackages: number;
  /** Below this many one-time KeyPackages a device is told to refill (`key-packages-low`). */
  readonly lowKeyPackageThreshold: number;
  /**
   * How long a fetched KeyPackage lets the fetching device add its owner's device to a group's
   * delivery list (docs/protocol.md §14, "who may be listed").
   */
  readonly keyPackageGrantMs: number;
  /** Seconds between WebSocket pings; a peer that misses one is dropped. */
  readonly pingIntervalMs: number;
  /** How long a link code (a new device waiting on a link channel) stays usable. */
  readonly linkTtlMs: number;
  /** Largest signed device list (`register`, `update-devices`), in bytes after decoding. */
  readonly maxDeviceListBytes: number;
  /** Longest invite code a `register` may carry, in characters. */
  readonly maxInviteLength: number;
  /** Most one-time X25519 prekeys one `upload-keys` may carry. */
  readonly maxPreKeysPerUpload: number;
  /** Most one-time ML-KEM prekeys one `upload-keys` may carry. */
  readonly maxKemPreKeysPerUpload: number;
  /** Most one-time KeyPackages one `upload-key-packages` may carry. */
  readonly maxKeyPackagesPerUpload: number;
  /** Largest KeyPackage accepted, in bytes after decoding. */
  readonly maxKeyPackageBytes: number;
  /** Longest device name a new device may publish on a link channel, in characters. */
  readonly maxDeviceNameLength: number;
  /** Largest sealed link payload (`link-send`), in bytes after decoding. */
  readonly maxLinkPayloadBytes: number;
  /** Bytes of attachment blobs one account may hold (`--blob-quota`; docs/operating.md). */
  readonly blobQuotaBytes: number;
  /** Largest attachment in bytes before padding (`--max-attachment`); at most 3 GiB. */
  readonly maxAttachmentBytes: number;
  /** An attachment upload not complete this long after its slot was handed out is collected. */
  readonly abandonedUploadMs: number;
  /** How often the blob store is probed for `/healthz` (a failing blob directory: blob-health.ts). */
  readonly blobProbeMs: number;
  /** Blob downloads per second per source address (token bucket rate) and burst. */
  readonly blobDownloadRatePerSource: number;
  readonly blobDownloadBurstPerSource: number;
  /** Most link channels open at once (all nodes together). */
  readonly maxLinkChannels: number;
  /** How often a node holding waiting new devices takes their answers from the database (a lost bus event). */
  readonly linkPollMs: number;
  /** Longest short code string a request names (a delivery kind, a `keyId`), in characters. */
  readonly maxShortStringLength: number;
  /** Most sequence numbers one `ack` frame may carry. */
  readonly maxAckSeqs: number;
  /** How often expired queued messages and old send-log entries are removed. */
  readonly purgeIntervalMs: number;
  /**
   * Sockets one source address may hold open before they authenticate or register (plain HTTP
   * connections included); more are closed at once. The source is the TCP peer (docs/operating.md).
   */
  readonly maxUnauthenticatedPerSource: number;
  /** Link channels (new devices waiting for their code) one source address may hold open. */
  readonly maxLinkChannelsPerSource: number;
  /** Registrations per second per source address (token bucket rate) and burst. */
  readonly registerRatePerSource: number;
  readonly registerBurstPerSource: number;
  /** Registrations per second on this node from all sources together, and burst. */
  readonly registerRate: number;
  readonly registerBurst: number;
}

/** Everything `startServer` accepts. */
export interface ServerOptions {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  /** `postgres://…` to store in PostgreSQL instead of SQLite in `dataDir`. */
  readonly db: string | undefined;
  /** PostgreSQL schema to use (created if missing); the default search path when undefined. */
  readonly dbSchema: string | undefined;
  /** `nats://…` or `redis://…` to deliver across several nodes sharing one PostgreSQL database. */
  readonly bus: string | undefined;
  /**
   * Where attachment blobs live: undefined (or `fs`) for `<dataDir>/blobs`, or an
   * `s3://bucket[/prefix]?endpoint=…&region=…` address (blobs/s3-blob-url.ts), which several
   * nodes share; or a `BlobStore` of the embedding program's own (it stays open after `close`).
   */
  readonly blobs: string | BlobStore | undefined;
  readonly inviteOnly: boolean;
  /** Key transparency: milliseconds between epochs (`--kt-epoch` seconds; default 10 s). */
  readonly ktEpochMs: number;
  /** The directory's key file (`kt-keys.json` in `dataDir` when undefined; share one copy across nodes). */
  readonly ktKeyFile: string | undefined;
  /** Published to clients: heads need this many cosignatures from `ktWitnessKeys`. */
  readonly ktRequireWitnesses: number;
  /** Ed25519 public keys of the witnesses clients count. */
  readonly ktWitnessKeys: readonly Uint8Array[];
  /** SQLite `synchronous`: FULL survives power loss after an ack, NORMAL only process crashes. */
  readonly sync: 'full' | 'normal';
  /**
   * Largest the SQLite database file may grow, in bytes (SQLite's `max_page_count`); no cap when
   * undefined. Past it, writes are refused with `STORAGE_UNAVAILABLE` as on a full disk, while the
   * disk keeps room for the WAL, the logs and a backup. The WAL file is not counted.
   */
  readonly sqliteMaxBytes: number | undefined;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  /** File to append JSON log lines to; standard output when undefined. */
  readonly logFile: string | undefined;
  /** The built browser client (packages/web/dist) to serve at `/`; a landing page when undefined. */
  readonly webDir: string | undefined;
  /**
   * `host:port` of a separate listener for `/metrics`; the main listener then answers it 404.
   * When undefined, the main listener answers `/metrics` to loopback peers (and token bearers).
   */
  readonly metricsListen: string | undefined;
  /** A bearer token that opens `/metrics` to non-loopback peers; loopback only when undefined. */
  readonly metricsToken: string | undefined;
  /**
   * PEM certificate and key files: the main listener serves HTTPS and WSS with them (read again by
   * `reloadTls`, which `parley serve` calls on SIGHUP). Plain HTTP when undefined. The separate
   * `metricsListen` listener stays plain HTTP either way.
   */
  readonly tls: TlsFiles | undefined;
  readonly limits: Limits;
  /** Milliseconds since the epoch; injectable for TTL tests. */
  readonly clock: () => number;
}

/** The defaults `parley serve` uses. */
export const DEFAULT_LIMITS: Limits = {
  // A welcome into a group of ~1,000 members carries its ratchet tree: about 1 MiB.
  maxFrameBytes: 2 * 1024 * 1024,
  hardFrameBytes: 4 * 1024 * 1024,
  maxMessageBytes: 64 * 1024,
  maxGroupHandshakeBytes: 1024 * 1024,
  maxGroupDevices: 5000,
  maxQueuePerDevice: 10_000,
  // 10,000 typical messages, or a few hundred group welcomes.
  maxQueueBytesPerDevice: 256 * 1024 * 1024,
  // 1,000 messages (25.6 MiB) from any one other account: ten flooding accounts to fill a queue.
  queueSenderSharePercent: 10,
  queueTtlMs: 30 * 24 * 3600 * 1000,
  sendLogRetentionMs: 7 * 24 * 3600 * 1000,
  handshakeTimeoutMs: 10_000,
  maxAuthFailures: 3,
  frameRate: 200,
  frameBurst: 400,
  sendRate: 50,
  sendBurst: 200,
  fetchRate: 5,
  fetchBurst: 50,
  // A contact needs one fetch per session start: 5 at once, then one a minute.
  targetFetchRatePerRequester: 1 / 60,
  targetFetchBurstPerRequester: 5,
  // Below the stock a client keeps (20 KeyPackages, 40 ML-KEM prekeys), so a burst cannot empty it.
  targetFetchRate: 0.2,
  targetFetchBurst: 10,
  drainNoticeMs: 60_000,
  usageReportMs: 1000,
  maxInFlight: 256,
  maxBufferedBytesPerConnection: 1024 * 1024,
  // 30 at once, then one every 2 s: a flaky network reconnects far less often.
  reconnectRatePerDevice: 0.5,
  reconnectBurstPerDevice: 30,
  maxStoredPreKeys: 500,
  lowPreKeyThreshold: 20,
  maxStoredKeyPackages: 200,
  lowKeyPackageThreshold: 10,
  keyPackageGrantMs: 24 * 3600 * 1000,
  pingIntervalMs: 30_000,
  linkTtlMs: 10 * 60 * 1000,
  maxDeviceListBytes: 4096,
  maxInviteLength: 128,
  maxPreKeysPerUpload: 200,
  maxKemPreKeysPerUpload: 100,
  maxKeyPackagesPerUpload: 100,
  maxKeyPackageBytes: 8 * 1024,
  maxDeviceNameLength: 64,
  // A sealed link payload carries the account's contacts and verified states.
  maxLinkPayloadBytes: 512 * 1024,
  blobQuotaBytes: 5 * 1024 ** 3,
  maxAttachmentBytes: 2 * 1024 ** 3,
  abandonedUploadMs: 24 * 3600 * 1000,
  blobProbeMs: 10_000,
  // A chat scrolled back shows a few dozen attachments at once, then a few per second.
  blobDownloadRatePerSource: 5,
  blobDownloadBurstPerSource: 60,
  maxLinkChannels: 10_000,
  linkPollMs: 3000,
  maxShortStringLength: 16,
  maxAckSeqs: 1000,
  purgeIntervalMs: 60_000,
  // A household or office behind one NAT address opens a few sockets per person.
  maxUnauthenticatedPerSource: 64,
  maxLinkChannelsPerSource: 4,
  // 20 at once, then one a minute per address; 5 a second with bursts of 100 for everyone.
  registerRatePerSource: 1 / 60,
  registerBurstPerSource: 20,
  registerRate: 5,
  registerBurst: 100,
};

/** The log levels `logLevel` takes (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The defaults of the options that are not limits (what `parley serve` runs with when given no flags). */
export const DEFAULT_OPTIONS = {
  port: 8787,
  host: '127.0.0.1',
  dataDir: './parley-data',
  inviteOnly: false,
  ktEpochMs: 10_000,
  ktRequireWitnesses: 0,
  sync: 'full',
  logLevel: 'info',
} as const satisfies Partial<ServerOptions>;

/** Splits a `host:port` (or `[v6]:port`) listen address; throws a TypeError naming the flag when malformed. */
export function parseListenAddress(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (host === undefined || !Number.isInteger(port) || port > 65535) {
    throw new TypeError(`expected metricsListen as host:port, got ${JSON.stringify(value)}`);
  }
  return { host, port };
}

/** Fills in defaults. */
export function resolveOptions(
  partial: Partial<Omit<ServerOptions, 'limits'>> & { limits?: Partial<Limits> },
): ServerOptions {
  return {
    port: partial.port ?? DEFAULT_OPTIONS.port,
    host: partial.host ?? DEFAULT_OPTIONS.host,
    dataDir: partial.dataDir ?? DEFAULT_OPTIONS.dataDir,
    db: partial.db,
    dbSchema: partial.dbSchema,
    bus: partial.bus,
    blobs: partial.blobs,
    inviteOnly: partial.inviteOnly ?? DEFAULT_OPTIONS.inviteOnly,
    ktEpochMs: partial.ktEpochMs ?? DEFAULT_OPTIONS.ktEpochMs,
    ktKeyFile: partial.ktKeyFile,
    ktRequireWitnesses: partial.ktRequireWitnesses ?? DEFAULT_OPTIONS.ktRequireWitnesses,
    ktWitnessKeys: partial.ktWitnessKeys ?? [],
    sync: partial.sync ?? DEFAULT_OPTIONS.sync,
    sqliteMaxBytes: partial.sqliteMaxBytes,
    logLevel: partial.logLevel ?? DEFAULT_OPTIONS.logLevel,
    logFile: partial.logFile,
    webDir: partial.webDir,
    metricsListen: partial.metricsListen,
    metricsToken: partial.metricsToken,
    tls: partial.tls,
    limits: { ...DEFAULT_LIMITS, ...partial.limits },
    clock: partial.clock ?? Date.now,
  };
}
