/**
 * The server's HTTP routes: `/healthz`, `/metrics`, the browser client's files (or a landing
 * page when it is not built) and the WebSocket upgrade at `/v1/ws`. Everything else is 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RelayMetrics } from './metrics.ts';
import type { WebBundle } from './web-files.ts';

/** The WebSocket path of the relay API. */
export const RELAY_PATH = '/v1/ws';

const LANDING = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Parley relay</title>
<body><h1>Parley relay</h1><p>This server relays end-to-end encrypted messages; it cannot read them.</p>
<p>The browser client is not built on this server (<code>npm run build:web</code>, then restart). The command-line
client works: <code>npx parley register NAME --server URL</code>.</p></body></html>`;

/** What the routes read from the running server. */
export interface RouteState {
  readonly web: WebBundle | undefined;
  readonly metrics: RelayMetrics;
  connectedCount(): number;
  /** True once shutdown has begun: health answers 503 and upgrades are refused. */
  closing(): boolean;
}

/** The handler of plain HTTP requests. */
export function httpRoutes(state: RouteState): (req: IncomingMessage, res: ServerResponse) => void {
  const { web, metrics } = state;
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const headers = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store' };
    if (req.method === 'GET' && path === '/healthz') {
      const closing = state.closing();
      res.writeHead(closing ? 503 : 200, { ...headers, 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: closing ? 'shutting-down' : 'ok', connections: state.connectedCount() }));
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
  };
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
