/**
 * The relay server process: one HTTP server that answers `/healthz`, serves the browser client
 * at `/` (or a landing page when it is not built), and the WebSocket relay at `/v1/ws`, over
 * SQLite storage in the data directory.
 *
 * Shutdown drains: it stops accepting, writes every pending batch, tells each device the
 * server is going away (close code 1001), then closes the database.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeCryptoProvider } from '@parley/protocol/node';
import pino from 'pino';
import { WebSocketServer } from 'ws';
import { createLocalBus } from './bus/bus.ts';
import { openNatsBus } from './bus/nats-bus.ts';
import { openRedisBus } from './bus/redis-bus.ts';
import { createMetrics } from './metrics.ts';
import { resolveOptions, type ServerOptions } from './options.ts';
import { CLOSE, serveConnection } from './relay/connection.ts';
import { createHub } from './relay/hub.ts';
import { createLinkChannels } from './relay/link-channels.ts';
import { createAccountLimits } from './relay/rate-limit.ts';
import { runtimeWarning } from './runtime.ts';
import { openPostgresStorage } from './store/postgres-storage.ts';
import { openSqliteStorage } from './store/sqlite-worker-storage.ts';
import type { Storage } from './store/storage.ts';
import { loadWebBundle, type WebBundle } from './web-files.ts';

/** The WebSocket path of the relay API. */
export const RELAY_PATH = '/v1/ws';

/** A running server. */
export interface RunningServer {
  /** `http://host:port` of the server. */
  readonly url: string;
  readonly port: number;
  readonly storage: Storage;
  /** SHA-256 of the served browser client bundle, if one is served. */
  readonly webDigest: string | undefined;
  /** Removes expired messages and send-log entries past retention now (it also runs every minute). */
  purge(): Promise<void>;
  /** Drains and stops; resolves when the database is closed. */
  close(): Promise<void>;
}

const LANDING = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Parley relay</title>
<body><h1>Parley relay</h1><p>This server relays end-to-end encrypted messages; it cannot read them.</p>
<p>The browser client is not built on this server (<code>npm run build:web</code>, then restart). The command-line
client works: <code>npx parley register NAME --server URL</code>.</p></body></html>`;

/** Starts a server; `options` are merged over the defaults of `parley serve`. */
export async function startServer(partial: Parameters<typeof resolveOptions>[0] = {}): Promise<RunningServer> {
  const options: ServerOptions = resolveOptions(partial);
  const log = pino(
    { level: options.logLevel, base: undefined },
    options.logFile === undefined ? undefined : pino.destination({ dest: options.logFile, sync: true }),
  );
  const storage =
    options.db === undefined
      ? await openSqliteStorage(options.dataDir, options.sync)
      : await openPostgresStorage(options.db, options.dbSchema === undefined ? {} : { schema: options.dbSchema });
  const { limits, clock } = options;
  if (options.bus !== undefined && options.db === undefined) {
    await storage.close();
    throw new Error('--bus needs --db postgres://… (nodes share one database)');
  }
  const bus =
    options.bus === undefined
      ? createLocalBus()
      : options.bus.startsWith('nats://')
        ? await openNatsBus(options.bus)
        : options.bus.startsWith('redis://')
          ? await openRedisBus(options.bus)
          : undefined;
  if (bus === undefined) throw new Error('--bus takes a nats:// or redis:// URL');
  const node = randomBytes(6).toString('hex');
  // The hub is created just below; the gauges read it when Prometheus scrapes.
  const metrics = createMetrics(
    () => hub.connectedCount(),
    () => storage.totalQueueDepth(),
  );
  const hub = createHub(storage, limits, clock, log, bus, node, metrics);
  const provider = createNodeCryptoProvider();
  // With several nodes, each tells the others once a second what it allowed per account.
  const accountLimits = createAccountLimits(limits, options.bus === undefined ? undefined : { bus, node, clock });
  const links = createLinkChannels(storage, bus);
  let web: WebBundle | undefined;
  if (options.webDir !== undefined) {
    try {
      web = loadWebBundle(options.webDir);
    } catch (err) {
      log.warn({ err, webDir: options.webDir }, 'browser client not served');
    }
  }
  let closing = false;

  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    const headers = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };
    if (req.method === 'GET' && path === '/healthz') {
      res.writeHead(closing ? 503 : 200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: closing ? 'shutting-down' : 'ok', connections: hub.connectedCount() }));
    } else if (req.method === 'GET' && path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { ...headers, 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500, headers);
          res.end();
        },
      );
    } else if ((req.method === 'GET' || req.method === 'HEAD') && web?.files.has(path ?? '')) {
      const file = web.files.get(path ?? '') as NonNullable<ReturnType<WebBundle['files']['get']>>;
      res.writeHead(200, {
        ...headers,
        ...file.headers,
        'content-type': file.type,
        'content-length': file.body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : file.body);
    } else if (req.method === 'GET' && path === '/') {
      res.writeHead(200, {
        ...headers,
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'",
      });
      res.end(LANDING);
    } else {
      res.writeHead(404, { ...headers, 'content-type': 'text/plain' });
      res.end('not found\n');
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.hardFrameBytes, perMessageDeflate: false });
  const alive = new WeakMap<object, boolean>();
  http.on('upgrade', (req, socket, head) => {
    if (closing || (req.url ?? '').split('?')[0] !== RELAY_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.set(ws, true);
      ws.on('pong', () => alive.set(ws, true));
      serveConnection(
        ws,
        { storage, hub, provider, limits, clock, inviteOnly: options.inviteOnly, accountLimits, links },
        log,
      );
    });
  });

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
  };
  const purger = setInterval(() => {
    purge().catch((err: unknown) => log.error({ err }, 'purging expired messages failed'));
  }, 60_000);
  pinger.unref();
  purger.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, options.host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  const store = options.db === undefined ? 'sqlite' : 'postgres';
  log.info(
    { url, store, bus: bus.name, node, inviteOnly: options.inviteOnly, webDigest: web?.digest },
    'parley relay listening',
  );
  const outdated = runtimeWarning(process.version, Date.now());
  if (outdated !== undefined) log.warn({ node: process.version }, outdated);

  return {
    url,
    port,
    storage,
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
