/**
 * The relay server process: one HTTP server (its routes in `http-routes.ts`: `/healthz`,
 * `/metrics`, the browser client at `/`, the WebSocket relay at `/v1/ws`) over the storage and
 * bus `adapters.ts` opens — SQLite in the data directory by default.
 *
 * Shutdown drains: it stops accepting, writes every pending batch, tells each device the
 * server is going away (close code 1001), then closes the database.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { createNodeCryptoProvider } from '@parley/protocol/node';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { checkAdapterOptions, openBus, openStorage } from './adapters.ts';
import { blobRoutes } from './blobs/blob-routes.ts';
import { type BlobService, createBlobService } from './blobs/blob-service.ts';
import { openFsBlobStore } from './blobs/fs-blob-store.ts';
import { httpRoutes, metricsRoutes, relayUpgrade } from './http-routes.ts';
import { createMetrics } from './metrics.ts';
import { parseListenAddress, resolveOptions, type ServerOptions } from './options.ts';
import { CLOSE, serveConnection } from './relay/connection.ts';
import { createHub } from './relay/hub.ts';
import { createLinkChannels } from './relay/link-channels.ts';
import { createAccountLimits } from './relay/rate-limit.ts';
import { createSourceLimits, sourceKey } from './relay/source-limits.ts';
import { runtimeWarning } from './runtime.ts';
import type { Storage } from './store/storage.ts';
import { loadWebBundle, type WebBundle } from './web-files.ts';

/** A running server. */
export interface RunningServer {
  /** `http://host:port` of the server. */
  readonly url: string;
  readonly port: number;
  readonly storage: Storage;
  /** The attachment blob service (its store, quotas, slots). */
  readonly blobs: BlobService;
  /** `http://host:port` of the separate metrics listener, when `metricsListen` is given. */
  readonly metricsUrl: string | undefined;
  /** SHA-256 of the served browser client bundle, if one is served. */
  readonly webDigest: string | undefined;
  /** Removes expired messages and send-log entries past retention now (it also runs every minute). */
  purge(): Promise<void>;
  /** Drains and stops; resolves when the database is closed. */
  close(): Promise<void>;
}

/** Starts a server; `options` are merged over the defaults of `parley serve`. */
export async function startServer(partial: Parameters<typeof resolveOptions>[0] = {}): Promise<RunningServer> {
  const options: ServerOptions = resolveOptions(partial);
  const metricsAt = options.metricsListen === undefined ? undefined : parseListenAddress(options.metricsListen);
  const log = pino(
    { level: options.logLevel, base: undefined },
    options.logFile === undefined ? undefined : pino.destination({ dest: options.logFile, sync: true }),
  );
  checkAdapterOptions(options);
  const storage = await openStorage(options);
  const blobStore = await openFsBlobStore(join(options.dataDir, 'blobs'));
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
  const provider = createNodeCryptoProvider();
  const blobs = createBlobService(blobStore, limits, clock);
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
  };
  // Node checks request deadlines every `connectionsCheckingInterval`; tie it to the handshake timeout.
  const checkEvery = Math.min(30_000, Math.max(250, limits.handshakeTimeoutMs / 2));
  const http = createServer({ connectionsCheckingInterval: checkEvery }, httpRoutes(routes));
  // Every TCP connection holds an unauthenticated slot of its source until it authenticates or
  // registers on the relay socket, or closes; past the cap it is closed at once (issue 19, item 7).
  const sources = createSourceLimits(limits, clock());
  const slots = new WeakMap<Socket, () => void>();
  let refusedSockets = 0;
  http.on('connection', (socket: Socket) => {
    const release = sources.admitSocket(sourceKey(socket.remoteAddress));
    if (release === undefined) {
      refusedSockets += 1;
      if (refusedSockets % 1000 === 1)
        log.warn({ refused: refusedSockets }, 'unauthenticated sockets per source refused');
      socket.destroy();
      return;
    }
    slots.set(socket, release);
    // A socket that has not begun a request by the handshake deadline is closed; once it has,
    // Node's headersTimeout (below) bounds the request and the relay's timer the WebSocket.
    const silent = setTimeout(() => socket.destroy(), limits.handshakeTimeoutMs);
    silent.unref();
    socket.once('data', () => clearTimeout(silent));
    socket.once('close', () => {
      clearTimeout(silent);
      release();
    });
  });
  // A client that never finishes its HTTP request (slowloris) is cut off like a slow handshake.
  http.headersTimeout = limits.handshakeTimeoutMs;
  const metricsHttp = metricsAt === undefined ? undefined : createServer(metricsRoutes(metrics, options.metricsToken));
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.hardFrameBytes, perMessageDeflate: false });
  const alive = new WeakMap<object, boolean>();
  http.on(
    'upgrade',
    relayUpgrade(routes, (req, socket, head) => {
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
          },
          log,
          {
            source: sourceKey(req.socket.remoteAddress),
            releaseUnauthenticated: () => slots.get(req.socket as Socket)?.(),
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
  const urlOf = (host: string, p: number) => `http://${host.includes(':') ? `[${host}]` : host}:${p}`;
  const url = urlOf(options.host, port);
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
    metricsUrl = urlOf(metricsAt.host, (metricsHttp.address() as AddressInfo).port);
  }
  const store = options.db === undefined ? 'sqlite' : 'postgres';
  log.info(
    { url, metricsUrl, store, bus: bus.name, node, inviteOnly: options.inviteOnly, webDigest: web?.digest },
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
    webDigest: web?.digest,
    purge,
    async close() {
      if (closing) return;
      closing = true;
      clearInterval(pinger);
      clearInterval(purger);
      accountLimits.stop();
      links.stop();
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
      log.info('parley relay stopped');
    },
  };
}
