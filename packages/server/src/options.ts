/**
 * Server options and their defaults. Every limit is here so `parley serve --help`, the docs and
 * the tests all read one table.
 */

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
  /** Delivered-but-unacknowledged messages per connection. */
  readonly maxInFlight: number;
  /** One-time prekeys most a device may have stored. */
  readonly maxStoredPreKeys: number;
  /** Below this many one-time prekeys (X25519 or ML-KEM) a device is told to refill. */
  readonly lowPreKeyThreshold: number;
  /** One-time MLS KeyPackages most a device may have stored. */
  readonly maxStoredKeyPackages: number;
  /** Below this many one-time KeyPackages a device is told to refill (`key-packages-low`). */
  readonly lowKeyPackageThreshold: number;
  /** Seconds between WebSocket pings; a peer that misses one is dropped. */
  readonly pingIntervalMs: number;
  /** How long a link code (a new device waiting on a link channel) stays usable. */
  readonly linkTtlMs: number;
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
  readonly inviteOnly: boolean;
  /** SQLite `synchronous`: FULL survives power loss after an ack, NORMAL only process crashes. */
  readonly sync: 'full' | 'normal';
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** File to append JSON log lines to; standard output when undefined. */
  readonly logFile: string | undefined;
  /** The built browser client (packages/web/dist) to serve at `/`; a landing page when undefined. */
  readonly webDir: string | undefined;
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
  maxInFlight: 256,
  maxStoredPreKeys: 500,
  lowPreKeyThreshold: 20,
  maxStoredKeyPackages: 200,
  lowKeyPackageThreshold: 10,
  pingIntervalMs: 30_000,
  linkTtlMs: 10 * 60 * 1000,
};

/** Fills in defaults. */
export function resolveOptions(
  partial: Partial<Omit<ServerOptions, 'limits'>> & { limits?: Partial<Limits> },
): ServerOptions {
  return {
    port: partial.port ?? 8787,
    host: partial.host ?? '127.0.0.1',
    dataDir: partial.dataDir ?? './parley-data',
    db: partial.db,
    dbSchema: partial.dbSchema,
    bus: partial.bus,
    inviteOnly: partial.inviteOnly ?? false,
    sync: partial.sync ?? 'full',
    logLevel: partial.logLevel ?? 'info',
    logFile: partial.logFile,
    webDir: partial.webDir,
    limits: { ...DEFAULT_LIMITS, ...partial.limits },
    clock: partial.clock ?? Date.now,
  };
}
