/**
 * A WebSocket proxy between clients and the relay that records every frame in both
 * directions, as the server sends and receives them (after WebSocket unmasking), so a test
 * can search the server's whole traffic. With `rewrite` it plays a hostile server: each frame
 * may be replaced by any number of frames (dropped, duplicated, altered, or others injected).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

/** A running proxy and what it saw. */
export interface RecordingProxy {
  readonly url: string;
  readonly frames: { readonly toServer: boolean; readonly data: string }[];
  /**
   * Sends a frame of the server's to the connections of `account` (as learned from their
   * `register`/`auth` requests), as a hostile server would; returns how many got it.
   */
  inject(account: string, data: string): number;
  close(): Promise<void>;
}

/** Rewrites one frame; `toServer` tells its direction. Returns the frames to pass on instead. */
export type Rewrite = (data: string, toServer: boolean) => string[];

/** Starts a proxy in front of `upstream` (an `http://host:port` relay URL). */
export async function startRecordingProxy(upstream: () => string, rewrite?: Rewrite): Promise<RecordingProxy> {
  const frames: { toServer: boolean; data: string }[] = [];
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, maxPayload: 4 * 1024 * 1024 });
  const accounts = new Map<WebSocket, string>();
  wss.on('connection', (client, req) => {
    const server = new WebSocket(`${upstream().replace(/^http/, 'ws')}${req.url ?? ''}`);
    const early: string[] = [];
    client.on('message', (d) => {
      const data = String(d);
      frames.push({ toServer: true, data });
      const account = handshakeName(data);
      if (account !== undefined) accounts.set(client, account);
      for (const out of rewrite ? rewrite(data, true) : [data]) {
        if (server.readyState === WebSocket.OPEN) server.send(out);
        else early.push(out);
      }
    });
    server.on('open', () => {
      for (const d of early.splice(0)) server.send(d);
    });
    server.on('message', (d) => {
      const data = String(d);
      frames.push({ toServer: false, data });
      for (const out of rewrite ? rewrite(data, false) : [data]) {
        if (client.readyState === WebSocket.OPEN) client.send(out);
      }
    });
    const closeBoth = () => {
      client.close();
      server.close();
    };
    client.on('close', () => {
      accounts.delete(client);
      closeBoth();
    });
    server.on('close', closeBoth);
    client.on('error', () => {});
    server.on('error', () => client.close());
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    frames,
    inject(account, data) {
      let n = 0;
      for (const [c, a] of accounts) {
        if (a === account && c.readyState === WebSocket.OPEN) {
          c.send(data);
          n++;
        }
      }
      return n;
    },
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** The account a `register` or `auth` request names, if `data` is one. */
function handshakeName(data: string): string | undefined {
  try {
    const f = JSON.parse(data) as { op?: string; args?: { name?: unknown } };
    if ((f.op === 'auth' || f.op === 'register') && typeof f.args?.name === 'string') return f.args.name;
  } catch {
    // Not JSON: not a handshake.
  }
  return undefined;
}
