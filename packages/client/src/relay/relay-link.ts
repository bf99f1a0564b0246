/**
 * The client's link to the relay: one WebSocket, the challenge-response handshake on every
 * (re)connect, request/response matching by id, batched acknowledgements, and reconnection
 * with capped, jittered exponential backoff once the first handshake has succeeded.
 */
import {
  fromBase64Url,
  RELAY_API_VERSION,
  RELAY_CLOSE_CODES,
  type RelayErrorCode,
  type RelayOp,
  type RelayOps,
  readRelayErrorDetails,
  type ServerFrame,
} from '@parley/protocol';
import { ClientError } from '../errors.ts';
import { type WebSocketLike, WS_OPEN } from '../platform.ts';

/** Link states as `onState` reports them. */
export type LinkState = 'connecting' | 'connected' | 'disconnected' | 'replaced' | 'removed';

/** How a link authenticates and where its pushed frames go. */
export interface RelayLinkOptions {
  /** The server's base URL (`http://host:port` or `https://…`). */
  readonly url: string;
  /** Builds the handshake request answering a challenge; called on every connect. */
  handshake(nonce: Uint8Array): Promise<{ op: 'register' | 'auth'; args: object }>;
  /** Pushed frames: `deliver`, `keys-low`, `drained`. */
  onFrame(frame: ServerFrame): void;
  onState(state: LinkState): void;
  /** Receives the link before its first connect, so frames pushed right after the handshake find it. */
  onLink?(link: RelayLink): void;
  readonly requestTimeoutMs?: number;
  /** Longest wait between reconnection attempts. */
  readonly maxBackoffMs?: number;
  /** Opens the socket (the platform's WebSocket). */
  openWebSocket(url: string, maxPayload: number): WebSocketLike;
  /**
   * Called before each frame leaves; when it returns a promise, the frame waits for it (in
   * order). The browser home uses it so that nothing is sent before the state it depends on is
   * saved: an acknowledgement before the message is stored, a ciphertext before its ratchet step.
   */
  beforeSend?(): Promise<void> | undefined;
}

/** An open link. */
export interface RelayLink {
  /** Sends a request; rejects with `SERVER_UNREACHABLE` when not connected. */
  request<Op extends RelayOp>(op: Op, args: RelayOps[Op]['args']): Promise<RelayOps[Op]['result']>;
  /** Acknowledges a delivered message (sent in a batch on the next turn). */
  ack(seq: number): void;
  isConnected(): boolean;
  /** Closes the link for good. */
  close(): void;
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: unknown): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Runs `fn` on the next turn of the event loop (`setImmediate` where there is one). */
const nextTurn = (fn: () => void): void => {
  if (typeof setImmediate === 'function') setImmediate(fn);
  else setTimeout(fn, 0);
};

/** The relay's WebSocket URL for a server base URL (`https` → `wss`, path `/v1/ws`). */
export function relayWebSocketUrl(url: string): string {
  const u = new URL(url);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.pathname = `${u.pathname.replace(/\/$/, '')}/v1/ws`;
  return u.toString();
}

/** The refusal a relay error frame stands for; details that are not the code's documented shape are dropped. */
function refusal(code: RelayErrorCode, message: string, details: unknown): ClientError {
  return new ClientError('SERVER_REFUSED', `server refused: ${message}`, {
    relayCode: code,
    details: readRelayErrorDetails(code, details),
  });
}

/**
 * Opens a link and resolves once the first handshake succeeds; rejects with the server's
 * refusal or `SERVER_UNREACHABLE`. Afterwards the link reconnects by itself until `close()`.
 */
export function openRelayLink(options: RelayLinkOptions): Promise<RelayLink> {
  const timeoutMs = options.requestTimeoutMs ?? 20_000;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let ws: WebSocketLike | undefined;
  let connected = false;
  let handshaking = false;
  let closed = false;
  let everConnected = false;
  let attempts = 0;
  let acks: number[] = [];
  let first: { resolve(): void; reject(err: unknown): void } | undefined;

  // Frames wait here, in order, while `beforeSend` has a save in progress.
  let outgoing: Promise<void> | undefined;
  const sendNow = (socket: WebSocketLike | undefined, frame: object): void => {
    if (socket !== undefined && socket === ws && socket.readyState === WS_OPEN) socket.send(JSON.stringify(frame));
  };
  const sendRaw = (frame: object): void => {
    const socket = ws;
    const saved = options.beforeSend?.();
    if (saved === undefined && outgoing === undefined) {
      sendNow(socket, frame);
      return;
    }
    const next: Promise<void> = Promise.all([outgoing, saved]).then(
      () => sendNow(socket, frame),
      // Not saved: the frame is not sent. Requests time out; deliveries come again unacknowledged.
      () => {},
    );
    outgoing = next;
    void next.then(() => {
      if (outgoing === next) outgoing = undefined;
    });
  };

  const rawRequest = (op: RelayOp, args: object): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new ClientError('TIMEOUT', `the server did not answer ${op} in time`));
      }, timeoutMs);
      pending.set(id, { resolve, reject, timer });
      sendRaw({ v: RELAY_API_VERSION, type: 'request', id, op, args });
    });

  const failAll = (err: ClientError): void => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(err);
      pending.delete(id);
    }
  };

  const onChallenge = async (nonce: Uint8Array): Promise<void> => {
    if (connected || handshaking) return;
    handshaking = true;
    try {
      const { op, args } = await options.handshake(nonce);
      await rawRequest(op, args);
      connected = true;
      everConnected = true;
      attempts = 0;
      first?.resolve();
      first = undefined;
      options.onState('connected');
    } catch (err) {
      // After the first connect no caller waits on a handshake: a refused one is answered by the
      // server's next challenge (tried again) until it closes the socket, and the link reconnects.
      if (first !== undefined) {
        first.reject(err);
        first = undefined;
        closed = true;
        ws?.close();
      }
    } finally {
      handshaking = false;
    }
  };

  const onMessage = (data: unknown): void => {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(String(data)) as ServerFrame;
    } catch {
      // Not JSON: no frame of the relay's, so nothing to answer or deliver; a request it may have
      // stood for times out.
      return;
    }
    if (frame.type === 'challenge') {
      let nonce: Uint8Array;
      try {
        nonce = fromBase64Url('nonce', frame.nonce);
      } catch {
        // A garbled challenge cannot be answered; the server's handshake timeout closes the socket.
        return;
      }
      void onChallenge(nonce);
    } else if (frame.type === 'response' || (frame.type === 'error' && frame.id !== undefined)) {
      const p = pending.get(frame.id as number);
      if (p === undefined) return;
      pending.delete(frame.id as number);
      clearTimeout(p.timer);
      if (frame.type === 'response') p.resolve(frame.result);
      else p.reject(refusal(frame.code, frame.message, frame.details));
    } else if (frame.type === 'error') {
      if (!connected && first !== undefined && frame.code === 'HANDSHAKE_TIMEOUT') {
        first.reject(refusal(frame.code, frame.message, frame.details));
        first = undefined;
      }
    } else {
      options.onFrame(frame);
    }
  };

  const scheduleReconnect = (): void => {
    const ceiling = Math.min(maxBackoff, 250 * 2 ** attempts);
    attempts++;
    setTimeout(connect, Math.random() * ceiling).unref?.();
  };

  function connect(): void {
    if (closed) return;
    options.onState('connecting');
    let socket: WebSocketLike;
    try {
      socket = options.openWebSocket(relayWebSocketUrl(options.url), 4 * 1024 * 1024);
    } catch {
      first?.reject(new ClientError('SERVER_UNREACHABLE', `cannot reach the server at ${options.url}`));
      first = undefined;
      closed = true;
      return;
    }
    ws = socket;
    socket.addEventListener('message', (e) => onMessage(e.data));
    // An error is always followed by `close`, which handles it.
    socket.addEventListener('error', () => {});
    socket.addEventListener('close', ({ code }) => {
      if (ws !== socket) return;
      connected = false;
      failAll(new ClientError('SERVER_UNREACHABLE', 'the connection to the server closed'));
      if (first !== undefined) {
        first.reject(new ClientError('SERVER_UNREACHABLE', `cannot reach the server at ${options.url}`));
        first = undefined;
        closed = true;
        return;
      }
      if (code === RELAY_CLOSE_CODES.replaced || code === RELAY_CLOSE_CODES.deviceRemoved) {
        closed = true;
        options.onState(code === RELAY_CLOSE_CODES.replaced ? 'replaced' : 'removed');
        return;
      }
      options.onState('disconnected');
      if (!closed && everConnected) scheduleReconnect();
    });
  }

  const flushAcks = (): void => {
    const seqs = acks;
    acks = [];
    for (let i = 0; i < seqs.length; i += 1000) {
      sendRaw({ v: RELAY_API_VERSION, type: 'ack', seqs: seqs.slice(i, i + 1000) });
    }
  };

  const link: RelayLink = {
    request(op, args) {
      if (!connected) {
        return Promise.reject(new ClientError('SERVER_UNREACHABLE', 'not connected to the server'));
      }
      return rawRequest(op, args) as Promise<never>;
    },
    ack(seq) {
      if (acks.length === 0) nextTurn(flushAcks);
      acks.push(seq);
    },
    isConnected() {
      return connected;
    },
    close() {
      // Acknowledgements still waiting for their batch go out before the socket closes.
      flushAcks();
      closed = true;
      connected = false;
      failAll(new ClientError('CLOSED', 'the client was closed'));
      ws?.close(1000);
    },
  };

  options.onLink?.(link);
  return new Promise((resolve, reject) => {
    first = { resolve: () => resolve(link), reject };
    connect();
  });
}

/** The link if it is connected; otherwise `SERVER_UNREACHABLE` (what every request needs first). */
export function requireConnected(link: RelayLink | undefined): RelayLink {
  if (link === undefined || !link.isConnected())
    throw new ClientError('SERVER_UNREACHABLE', 'not connected to the server');
  return link;
}
