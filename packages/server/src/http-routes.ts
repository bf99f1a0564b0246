/**
 * The server's HTTP routes: `/healthz`, `/metrics`, the browser client's files (or a landing
 * page when it is not built) and the WebSocket upgrade at `/v1/ws`. Everything else is 404.
 *
 * `/healthz` says only whether the node is up, or degraded and why (no counts: how busy a server
 * is is the operator's business). `/metrics` tells how busy it is, so by default it answers only a peer
 * on a loopback address, or one presenting the operator's bearer token (`metricsToken`); with
 * `metricsListen` it moves to a listener of its own and the main one answers 404.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { METRICS_CONTENT_TYPE, type RelayMetrics } from './metrics.ts';
import type { WebBundle } from './web-files.ts';

/** The WebSocket path of the relay API. */
export const RELAY_PATH = '/v1/ws';

const LANDING = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Parley relay</title>
<body><h1>Parley relay</h1><p>This server relays end-to-end encrypted messages; it cannot read them.</p>
<p>The browser client is not built on this server (<code>npm run build:web</code>, then restart). The command-line
client works: <code>npx parley register NAME --server URL</code>.</p></body></html>`;

const PLAIN_HEADERS = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };

/** What the routes read from the running server. */
export interface RouteState {
  readonly web: WebBundle | undefined;
  readonly metrics: RelayMetrics;
  /** Whether this listener serves `/metrics` at all (false when it has a listener of its own). */
  readonly serveMetrics: boolean;
  /** A bearer token that opens `/metrics` to a non-loopback peer; loopback only when undefined. */
  readonly metricsToken: string | undefined;
  /** True once shutdown has begun: health answers 503 and upgrades are refused. */
  closing(): boolean;
  /** The blob API (`/v1/blobs/…`, blobs/blob-routes.ts): true when it took the request. */
  readonly blobs?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Key-transparency audit and witness endpoints (`/v1/kt/…`, kt/kt-routes.ts). */
  readonly kt?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /**
   * What is wrong now (`storage-full`, `accept-failing`, …): while anything is, health answers 503
   * `{status: "degraded", reasons}`. Nothing is wrong when undefined.
   */
  problems?(): readonly string[];
}

/** The handler of plain HTTP requests. */
export function httpRoutes(state: RouteState): (req: IncomingMessage, res: ServerResponse) => void {
  const { web, metrics } = state;
  return (req, res) => {
    if (state.blobs?.(req, res) === true) return;
    if (state.kt?.(req, res) === true) return;
    const path = (req.url ?? '/').split('?')[0];
    const headers = PLAIN_HEADERS;
    if (req.method === 'GET' && path === '/healthz') {
      const closing = state.closing();
      const reasons = state.problems?.() ?? [];
      const status = closing ? 'shutting-down' : reasons.length > 0 ? 'degraded' : 'ok';
      res.writeHead(status === 'ok' ? 200 : 503, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify(status === 'degraded' ? { status, reasons } : { status }));
    } else if (req.method === 'GET' && path === '/metrics' && state.serveMetrics) {
      if (!metricsAllowed(req.socket.remoteAddress, req.headers.authorization, state.metricsToken)) {
        res.writeHead(403, { ...headers, 'content-type': 'text/plain' });
        res.end('metrics are served to loopback or with the operator token only\n');
        return;
      }
      serveMetrics(metrics, res);
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
  };
}

/** Answers with the Prometheus text of `metrics`. */
function serveMetrics(metrics: RelayMetrics, res: ServerResponse): void {
  metrics.render().then(
    (text) => {
      res.writeHead(200, { ...PLAIN_HEADERS, 'content-type': METRICS_CONTENT_TYPE });
      res.end(text);
    },
    () => {
      res.writeHead(500, PLAIN_HEADERS);
      res.end();
    },
  );
}

/**
 * The handler of the separate metrics listener (`metricsListen`): `/metrics` to whoever reaches
 * the address the operator chose, or, with a token, to loopback and token bearers; else 404.
 */
export function metricsRoutes(
  metrics: RelayMetrics,
  token: string | undefined,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { ...PLAIN_HEADERS, 'content-type': 'text/plain' });
      res.end('not found\n');
    } else if (token !== undefined && !metricsAllowed(req.socket.remoteAddress, req.headers.authorization, token)) {
      res.writeHead(403, { ...PLAIN_HEADERS, 'content-type': 'text/plain' });
      res.end('metrics need the operator token\n');
    } else {
      serveMetrics(metrics, res);
    }
  };
}

/** Whether `address` (a socket's remote address) is loopback: 127.0.0.0/8, ::1 or ::ffff:127.x. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

/**
 * Whether a `/metrics` request may be answered: from a loopback peer always; from any other
 * peer only with `Authorization: Bearer <token>` when a token is configured (compared in
 * constant time).
 */
export function metricsAllowed(
  remoteAddress: string | undefined,
  authorization: string | undefined,
  token: string | undefined,
): boolean {
  if (isLoopbackAddress(remoteAddress)) return true;
  if (token === undefined || authorization === undefined) return false;
  const given = Buffer.from(authorization, 'utf8');
  const wanted = Buffer.from(`Bearer ${token}`, 'utf8');
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

/**
 * The handler of HTTP upgrades: `accept` takes an upgrade to `RELAY_PATH` while the server is
 * not closing; any other is answered 404 and closed.
 */
export function relayUpgrade(
  state: Pick<RouteState, 'closing'>,
  accept: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    if (state.closing() || (req.url ?? '').split('?')[0] !== RELAY_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    accept(req, socket, head);
  };
}
