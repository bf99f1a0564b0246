/**
 * A WebSocket proxy on loopback that injures the network between clients and the relay: it can
 * drop frames, reset connections (both sides torn down without a closing handshake, as a
 * crashed NAT or a pulled cable does), reset new connections before the WebSocket upgrade, or
 * accept them and never answer (a connect timeout). `heal()` makes it a plain proxy again.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

/** One frame passing the proxy, and where it is in its connection. */
export interface FaultFrame {
  readonly data: string;
  readonly toServer: boolean;
  /** Which accepted connection (1, 2, …) carries it. */
  readonly connection: number;
}

/** What becomes of a frame: passed on, silently dropped, or its connection reset. */
export type FaultAction = 'pass' | 'drop' | 'reset';

/** What becomes of a new TCP connection: proxied, reset at once, or held open unanswered. */
export type AcceptMode = 'pass' | 'reset' | 'hang';

/** A running fault-injecting proxy. */
export interface FaultProxy {
  readonly url: string;
  /** Connections accepted so far (including reset and hung ones). */
  readonly accepted: number;
  setRule(rule: (frame: FaultFrame) => FaultAction): void;
  setAccept(mode: AcceptMode): void;
  /** Resets every open connection now. */
  resetAll(): void;
  /** Passes everything from now on (open connections stay open). */
  heal(): void;
  close(): Promise<void>;
}

/** Starts a proxy in front of `upstream` (an `http://host:port` relay URL), healthy until told otherwise. */
export async function startFaultProxy(upstream: () => string): Promise<FaultProxy> {
  let rule: (frame: FaultFrame) => FaultAction = () => 'pass';
  let accept: AcceptMode = 'pass';
  let accepted = 0;
  const resets = new Set<() => void>();
  const hung = new Set<Socket>();
  const http = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });

  http.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    accepted++;
    const connection = accepted;
    socket.on('error', () => {});
    if (accept === 'reset') {
      socket.resetAndDestroy();
      return;
    }
    if (accept === 'hang') {
      hung.add(socket);
      socket.on('close', () => hung.delete(socket));
      return;
    }
    wss.handleUpgrade(req, socket, head, (client) => bridge(client, req, connection));
  });

  function bridge(client: WebSocket, req: IncomingMessage, connection: number): void {
    const server = new WebSocket(`${upstream().replace(/^http/, 'ws')}${req.url ?? ''}`);
    const early: string[] = [];
    const reset = (): void => {
      resets.delete(reset);
      client.terminate();
      server.terminate();
    };
    resets.add(reset);
    const pass = (data: string, toServer: boolean): void => {
      const action = rule({ data, toServer, connection });
      if (action === 'drop') return;
      if (action === 'reset') {
        reset();
        return;
      }
      if (!toServer) {
        if (client.readyState === WebSocket.OPEN) client.send(data);
      } else if (server.readyState === WebSocket.OPEN) server.send(data);
      else early.push(data);
    };
    client.on('message', (d) => pass(String(d), true));
    server.on('message', (d) => pass(String(d), false));
    server.on('open', () => {
      for (const d of early.splice(0)) server.send(d);
    });
    const closeBoth = (): void => {
      resets.delete(reset);
      client.close();
      server.close();
    };
    client.on('close', closeBoth);
    server.on('close', closeBoth);
    client.on('error', () => {});
    server.on('error', () => client.terminate());
  }

  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    get accepted() {
      return accepted;
    },
    setRule(r) {
      rule = r;
    },
    setAccept(mode) {
      accept = mode;
    },
    resetAll() {
      for (const reset of [...resets]) reset();
    },
    heal() {
      rule = () => 'pass';
      accept = 'pass';
    },
    async close() {
      for (const reset of [...resets]) reset();
      for (const s of hung) s.destroy();
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
}

/** A rule that applies `action` to the first `count` frames matching `match`, then passes everything. */
export function firstFrames(
  count: number,
  match: (frame: FaultFrame) => boolean,
  action: FaultAction,
): (frame: FaultFrame) => FaultAction {
  let left = count;
  return (frame) => {
    if (left > 0 && match(frame)) {
      left--;
      return action;
    }
    return 'pass';
  };
}

/** True when `frame` is a request for `op` going to the server. */
export const isRequest =
  (op: string) =>
  (frame: FaultFrame): boolean =>
    frame.toServer && frame.data.includes(`"op":"${op}"`);

/**
 * A rule that applies `action` to the first `count` answers (responses or errors) to requests
 * for `op`, then passes everything: the server did the work, the client never hears of it.
 */
export function answersTo(op: string, count: number, action: FaultAction): (frame: FaultFrame) => FaultAction {
  const asked = new Set<string>();
  let left = count;
  return (frame) => {
    let f: { id?: unknown; op?: unknown; type?: unknown };
    try {
      f = JSON.parse(frame.data) as typeof f;
    } catch {
      return 'pass';
    }
    const key = `${frame.connection}:${String(f.id)}`;
    if (frame.toServer && f.op === op) asked.add(key);
    else if (!frame.toServer && left > 0 && (f.type === 'response' || f.type === 'error') && asked.has(key)) {
      left--;
      return action;
    }
    return 'pass';
  };
}
