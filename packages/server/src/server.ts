/**
 * The relay server process: one HTTP server, or HTTPS with `tls` (its routes in `http-routes.ts`: `/healthz`,
 * `/metrics`, the browser client at `/`, the WebSocket relay at `/v1/ws`) over the storage and
 * bus `adapters.ts` opens — SQLite in the data directory by default.
 *
 * Shutdown drains: it stops accepting, writes every pending batch, tells each device the
 * server is going away (close code 1001), then closes the database.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { createNodeCryptoProvider } from '@parley/protocol/node';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { checkAdapterOptions, openBus, openStorage } from './adapters.ts';
import { watchBlobStore } from './blobs/blob-health.ts';
import { blobRoutes } from './blobs/blob-routes.ts';
import { type BlobService, createBlobService } from './blobs/blob-service.ts';
import type { BlobStore } from './blobs/blob-store.ts';
import { openFsBlobStore } from './blobs/fs-blob-store.ts';
import { BlobLocationError, isS3BlobLocation, parseS3BlobLocation } from './blobs/s3-blob-url.ts';
import { openFileLimits } from './fd-limit.ts';
import { watchOpenFiles } from './fd-watch.ts';
import { httpRoutes, metricsRoutes, relayUpgrade } from './http-routes.ts';
import { KeyDirectory } from './kt/directory.ts';
import { directoryFingerprint, KT_KEY_FILE, loadDirectoryKeys } from './kt/keys.ts';
import { ktRoutes } from './kt/kt-routes.ts';
import { createMetrics } from './metrics.ts';
import { parseListenAddress, resolveOptions, type ServerOptions } from './options.ts';
import { CLOSE, serveConnection } from './relay/connection.ts';
import { createHub } from './relay/hub.ts';
import { createLinkChannels } from './relay/link-channels.ts';
import { createAccountLimits } from './relay/rate-limit.ts';
import { createSourceLimits, sourceKey } from './relay/source-limits.ts';
import { runtimeWarning } from './runtime.ts';
import { watchStorage } from './storage-health.ts';
import type { Storage } from './store/storage.ts';
import { loadTlsFiles } from './tls-files.ts';
import { loadWebBundle, type WebBundle } from './web-files.ts';

/** A running server. */
export interface RunningServer {
  /** `http://host:port` of the server (`https://` with `tls`). */
  readonly url: string;
  readonly port: number;
  readonly storage: Storage;
  /** The attachment blob service (its store, quotas, slots). */
  readonly blobs: BlobService;
  /** The key-transparency directory (`publish()` runs an epoch now). */
  readonly kt: KeyDirectory;
  /** `http://host:port` of the separate metrics listener, when `metricsListen` is given. */
  readonly metricsUrl: string | undefined;
  /** SHA-256 of the served browser client bundle, if one is served. */
  readonly webDigest: string | undefined;
  /** Removes expired messages and send-log entries past retention now (it also runs every minute). */
  purge(): Promise<void>;
  /**
   * Reads the `tls` certificate and key files again and serves new connections with them (open
   * ones keep theirs). Returns false, logging why at error level, when the pair does not load: the
   * current certificate then stays. Returns false without a log when the server has no `tls`.
   */
  reloadTls(): boolean;
  /** Drains and stops; resolves when the database is closed. */
  close(): Promise<void>;
}

/**
 * The blob store `options.blobs` names. The S3 adapter (and with it the AWS SDK) is imported
 * only when S3 is configured, so a server on the file system does not carry it in memory.
 */
async function openBlobStore(options: ServerOptions): Promise<BlobStore> {
  if (typeof options.blobs === 'object') return options.blobs;
  if (isS3BlobLocation(options.blobs)) {
    const { openS3BlobStore } = await import('./blobs/s3-blob-store.ts');
    return openS3BlobStore(parseS3BlobLocation(options.blobs));
  }
  if (options.blobs !== undefined && options.blobs !== 'fs') {
    throw new BlobLocationError('--blobs takes fs or an s3:// address');
  }
  return openFsBlobStore(join(options.dataDir, 'blobs'));
}

/** Starts a server; `options` are merged over the defaults of `parley serve`. */
export async function startServer(partial: Parameters<typeof resolveOptions>[0] = {}): Promise<RunningServer> {
  const options: ServerOptions = resolveOptions(partial);
  // Read first: a certificate that does not load stops the start before anything is opened.
  const tlsFiles = options.tls;
  const secure = tlsFiles === undefined ? undefined : loadTlsFiles(tlsFiles);
  const metricsAt = options.metricsListen === undefined ? undefined : parseListenAddress(options.metricsListen);
  const log = pino(
    { level: options.logLevel, base: undefined },
    options.logFile === undefined ? undefined : pino.destination({ dest: options.logFile, sync: true }),
  );
  checkAdapterOptions(options);
  // Every storage call reports a full disk or a failing database here (STORAGE_UNAVAILABLE, /healthz).
  const watched = watchStorage(await openStorage(options), log, options.clock);
  const storage = watched.storage;
  let blobStore: BlobStore;
  try {
    blobStore = await openBlobStore(options);
  } catch (err) {
    await storage.close();
    throw err;
  }
  const { limits, clock } = options;
  let bus: Awaited<ReturnType<typeof openBus>>;
  try {
    bus = await openBus(options.bus);
  } catch (err) {
    await storage.close();
    throw err;
  }
  const node = randomBytes(6).toString('hex');
  // The hub is created just below; the gauges read it when Prometheus scrapes.
  const metrics = createMetrics(
    () => hub.connectedCount(),
    () => storage.totalQueueDepth(),
  );
  const hub = createHub(storage, limits, clock, log, bus, node, metrics);
  const fileLimits = openFileLimits();
  const fds = watchOpenFiles(fileLimits, log, {
    exhausted: metrics.openFilesExhausted,
    exhaustedChecks: metrics.openFilesExhaustedChecks,
  });
  const provider = createNodeCryptoProvider();
  let kt: KeyDirectory;
  try {
    const keys = await loadDirectoryKeys(provider, options.ktKeyFile ?? join(options.dataDir, KT_KEY_FILE));
    kt = await KeyDirectory.open({
      store: storage,
      keys,
      provider,
      clock,
      node,
      epochMs: options.ktEpochMs,
      requireWitnesses: options.ktRequireWitnesses,
      witnessKeys: options.ktWitnessKeys,
      onError: (err) => log.error({ err }, 'key-transparency epoch not published'),
    });
  } catch (err) {
    await bus.close();
    await storage.close();
    throw err;
  }
  kt.start();
  const blobWatch = watchBlobStore(blobStore, log, clock, limits.blobProbeMs);
  const blobs = createBlobService(blobWatch.store, limits, clock);
  // With several nodes, each tells the others once a second what it allowed per account.
  const accountLimits = createAccountLimits(limits, options.bus === undefined ? undefined : { bus, node, clock });
  const links = createLinkChannels(storage, bus, limits.maxLinkChannels, limits.linkPollMs);
  let web: WebBundle | undefined;
  if (options.webDir !== undefined) {
    try {
      web = loadWebBundle(options.webDir);
    } catch (err) {
      log.warn({ err, webDir: options.webDir }, 'browser client not served');
    }
  }
  let closing = false;

  const routes = {
    web,
    metrics,
    serveMetrics: metricsAt === undefined,
    metricsToken: options.metricsToken,
    closing: () => closing,
    blobs: blobRoutes(blobs, clock, log),
    kt: ktRoutes(kt, provider),
    problems: (): string[] => {
      const found: string[] = [];
      const failure = watched.health.failure();
      if (failure !== undefined) found.push(`storage-${failure.reason}`);
      const blobFailure = blobWatch.health.failure();
      if (blobFailure !== undefined) found.push(`blobs-${blobFailure.reason}`);
      if (fds.exhausted()) found.push('open-files-exhausted');
      return found;
    },
  };
  // Node checks request deadlines every `connectionsCheckingInterval`; tie it to the handshake timeout.
  const checkEvery = Math.min(30_000, Math.max(250, limits.handshakeTimeoutMs / 2));
  // With TLS, the TLS handshake must also finish within the handshake timeout.
  const http =
    secure === undefined
      ? createServer({ connectionsCheckingInterval: checkEvery }, httpRoutes(routes))
      : createHttpsServer(
          { ...secure, connectionsCheckingInterval: checkEvery, handshakeTimeout: limits.handshakeTimeoutMs },
          httpRoutes(routes),
        );
  // Every TCP connection holds an unauthenticated slot of its source until it authenticates or
  // registers on the relay socket, or closes; past the cap it is closed at once (issue 19, item 7).
  const sources = createSourceLimits(limits, clock());
  // The release of each connection's slot, by the socket requests arrive on (the TLS socket with TLS).
  const slots = new WeakMap<Socket, () => void>();
  // With TLS: the slot of a TCP connection whose TLS socket has not appeared yet, by its peer.
  const handshaking = new Map<string, () => void>();
  const peerOf = (socket: Socket): string => `${socket.remoteAddress}|${socket.remotePort}`;
  let refusedSockets = 0;
  /** A socket that has not begun a request by the handshake deadline is closed; once it has,
   * Node's headersTimeout (below) bounds the request and the relay's timer the WebSocket. */
  const closeIfSilent = (socket: Socket): void => {
    const silent = setTimeout(() => socket.destroy(), limits.handshakeTimeoutMs);
    silent.unref();
    socket.once('data', () => clearTimeout(silent));
    socket.once('close', () => clearTimeout(silent));
  };
  http.on('connection', (socket: Socket) => {
    const release = sources.admitSocket(sourceKey(socket.remoteAddress));
    if (release === undefined) {
      refusedSockets += 1;
      if (refusedSockets % 1000 === 1)
        log.warn({ refused: refusedSockets }, 'unauthenticated sockets per source refused');
      socket.destroy();
      return;
    }
    // Released once, whichever comes first: the relay's authentication or the TCP close.
    let held = true;
    const once = (): void => {
      if (held) release();
      held = false;
    };
    socket.once('close', once);
    if (secure === undefined) {
      slots.set(socket, once);
      closeIfSilent(socket);
    } else {
      // The TLS socket wrapping this one reads its data (the raw socket emits none): the relay
      // finds the slot through it once its handshake is done ('secureConnection' below).
      const peer = peerOf(socket);
      handshaking.set(peer, once);
      socket.once('close', () => {
        if (handshaking.get(peer) === once) handshaking.delete(peer);
      });
    }
  });
  if (secure !== undefined) {
    http.on('secureConnection', (socket: Socket) => {
      const peer = peerOf(socket);
      const release = handshaking.get(peer);
      handshaking.delete(peer);
      if (release !== undefined) slots.set(socket, release);
      closeIfSilent(socket);
    });
  }
  // A client that never finishes its HTTP request (slowloris) is cut off like a slow handshake.
  http.headersTimeout = limits.handshakeTimeoutMs;
  const metricsHttp = metricsAt === undefined ? undefined : createServer(metricsRoutes(metrics, options.metricsToken));
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.hardFrameBytes, perMessageDeflate: false });
  const alive = new WeakMap<object, boolean>();
  http.on(
    'upgrade',
    relayUpgrade(routes, (req, socket, head) => {
      // Only the socket and its source outlive the upgrade: a closure over `req` would keep the
      // request (its headers and parser state) for the connection's life, ~5 KiB each (issue 24).
      const peerSocket = req.socket as Socket;
      const source = sourceKey(peerSocket.remoteAddress);
      wss.handleUpgrade(req, socket, head, (ws) => {
        alive.set(ws, true);
        ws.on('pong', () => alive.set(ws, true));
        serveConnection(
          ws,
          {
            storage,
            hub,
            provider,
            limits,
            clock,
            inviteOnly: options.inviteOnly,
            accountLimits,
            links,
            sources,
            blobs,
            kt,
          },
          log,
          {
            source,
            releaseUnauthenticated: () => slots.get(peerSocket)?.(),
          },
        );
      });
    }),
  );

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, limits.pingIntervalMs);
  const purge = async (): Promise<void> => {
    const now = clock();
    const n = await storage.purgeExpired(now, now - limits.sendLogRetentionMs);
    if (n > 0) log.info({ expired: n }, 'expired queued messages removed');
    const gone = await blobs.collect();
    if (gone > 0) log.info({ blobs: gone }, 'expired blobs and abandoned uploads removed');
  };
  const purger = setInterval(() => {
    purge().catch((err: unknown) => log.error({ err }, 'purging expired messages failed'));
  }, limits.purgeIntervalMs);
  pinger.unref();
  purger.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const urlOf = (scheme: 'http' | 'https', host: string, p: number) =>
    `${scheme}://${host.includes(':') ? `[${host}]` : host}:${p}`;
  const url = urlOf(secure === undefined ? 'http' : 'https', options.host, port);
  let metricsUrl: string | undefined;
  if (metricsHttp !== undefined && metricsAt !== undefined) {
    try {
      await new Promise<void>((resolve, reject) => {
        metricsHttp.once('error', reject);
        metricsHttp.listen(metricsAt.port, metricsAt.host, () => resolve());
      });
    } catch (err) {
      await new Promise((r) => http.close(r));
      await bus.close();
      await storage.close();
      throw err;
    }
    metricsUrl = urlOf('http', metricsAt.host, (metricsHttp.address() as AddressInfo).port);
  }
  const store = options.db === undefined ? 'sqlite' : 'postgres';
  log.info(
    {
      url,
      metricsUrl,
      store,
      bus: bus.name,
      blobs:
        typeof options.blobs === 'string' && isS3BlobLocation(options.blobs)
          ? parseS3BlobLocation(options.blobs).display
          : blobStore.name,
      node,
      inviteOnly: options.inviteOnly,
      tls: tlsFiles === undefined ? undefined : { cert: tlsFiles.cert, key: tlsFiles.key },
      webDigest: web?.digest,
      // Each connection holds one descriptor: the most connections this node can hold, roughly.
      openFileLimit: fileLimits?.soft,
      ktFingerprint: directoryFingerprint(kt.directoryKey),
    },
    'parley relay listening',
  );
  const outdated = runtimeWarning(process.version, Date.now());
  if (outdated !== undefined) log.warn({ node: process.version }, outdated);

  return {
    url,
    port,
    metricsUrl,
    storage,
    blobs,
    kt,
    webDigest: web?.digest,
    purge,
    reloadTls() {
      if (tlsFiles === undefined || !('setSecureContext' in http)) return false;
      try {
        http.setSecureContext(loadTlsFiles(tlsFiles));
      } catch (err) {
        // The message names the files and OpenSSL's reason, never their contents.
        log.error({ reason: (err as Error).message }, 'TLS certificate not reloaded; the previous one is still served');
        return false;
      }
      log.info({ cert: tlsFiles.cert }, 'TLS certificate reloaded');
      return true;
    },
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(pinger);
      clearInterval(purger);
      blobWatch.health.stop();
      fds.stop();
      accountLimits.stop();
      links.stop();
      await kt.stop();
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      metricsHttp?.close();
      metricsHttp?.closeAllConnections();
      await hub.flush();
      for (const ws of wss.clients) ws.close(CLOSE.shuttingDown, 'server shutting down');
      await new Promise((r) => setTimeout(r, 50));
      for (const ws of wss.clients) ws.terminate();
      http.closeAllConnections();
      await stopped;
      await hub.flush();
      await bus.close();
      await storage.close();
      // A store the embedding program passed in is its own to close.
      if (typeof options.blobs !== 'object') await blobStore.close();
      log.info('parley relay stopped');
    },
  };
}
