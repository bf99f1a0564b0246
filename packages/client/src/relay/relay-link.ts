/**
 * The client's link to the relay: one WebSocket, the challenge-response handshake on every
 * (re)connect, request/response matching by id, batched acknowledgements, and reconnection
 * with capped, jittered exponential backoff once the first handshake has succeeded (backoff.ts).
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
import { ClientError, isClientError } from '../errors.ts';
import { type WebSocketLike, WS_OPEN } from '../platform.ts';
import { closeReasonHint, DEFAULT_MAX_BACKOFF_MS, reconnectDelay, TRY_AGAIN_LATER } from './backoff.ts';
import { checkServerUrl } from './server-url.ts';

/** Link states as `onState` reports them. */
export type LinkState = 'connecting' | 'connected' | 'disconnected' | 'replaced' | 'removed';

/** How a link authenticates and where its pushed frames go. */
export interface RelayLinkOptions {
  /** The server's base URL (`http://host:port` or `https://…`). */
  readonly url: string;
  /** Builds the handshake request answering a challenge; called on every connect. */
  handshake(nonce: Uint8Array): Promise<{ op: 'register' | 'auth'; args: object }>;
  /** Receives the server's answer to a successful handshake, before the link counts as connected. */
  handshakeAnswered?(op: 'register' | 'auth', result: unknown): void;
  /** Pushed frames: `deliver`, `keys-low`, `drained`. */
  onFrame(frame: ServerFrame): void;
  onState(state: LinkState): void;
  /** Receives the link before its first connect, so frames pushed right after the handshake find it. */
  onLink?(link: RelayLink): void;
  /** How long a request may wait for its answer (default 20 s). */
  readonly requestTimeoutMs?: number;
  /** How long one connection attempt may take up to the handshake's answer (default `requestTimeoutMs`). */
  readonly connectTimeoutMs?: number;
  /**
   * Bounds the first connect: while it has not aborted, a first attempt that is reset, times out
   * or closes is retried. Without it the first failed attempt rejects.
   */
  readonly signal?: AbortSignal;
  /** Longest wait between reconnection attempts (default 5 s; see backoff.ts). */
  readonly maxBackoffMs?: number;
  /** Opens the socket (the platform's WebSocket). */
  openWebSocket(url: string, maxPayload: number): WebSocketLike;
  /**
   * Connect to an `http://`/`ws://` URL whose host is not this machine (no TLS). Without it such a
   * URL rejects with `INSECURE_SERVER` before any socket is opened.
   */
  readonly allowInsecure?: boolean;
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

/**
 * The relay's WebSocket URL for a server base URL (`https`/`wss` → `wss`, `http`/`ws` → `ws`,
 * path `/v1/ws`). Callers check the URL first (`checkServerUrl`).
 */
export function relayWebSocketUrl(url: string): string {
  const u = new URL(url);
  u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
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

/** Requests the link sends again, with the same id, when their answer is late: the server
 * deduplicates them (sends by message id) or they only read. Others are answered once or fail. */
const RESENT_ON_TIMEOUT: ReadonlySet<RelayOp> = new Set<RelayOp>([
  'send',
  'group-send',
  'get-account',
  'key-count',
  'group-info',
]);

/** Socket errors that say nothing listens there: a first connect fails at once instead of retrying. */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Node's codes for a TLS certificate the client does not accept (untrusted issuer, wrong name,
 * expired): a first connect fails at once, saying so, instead of retrying what cannot succeed.
 */
const CERTIFICATE_CODES: ReadonlySet<string> = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The `code` of the error a socket error event carries, when the platform gives one (Node's `ws`). */
function socketErrorCode(event: unknown): string | undefined {
  const error = (event as { error?: { code?: unknown } } | undefined)?.error;
  return typeof error?.code === 'string' ? error.code : undefined;
}

/**
 * Opens a link and resolves once the first handshake succeeds; rejects with the server's
 * refusal or `SERVER_UNREACHABLE`. Afterwards the link reconnects by itself until `close()`.
 *
 * Each connection attempt (socket, challenge, handshake answer) must finish within
 * `connectTimeoutMs`. Without `signal`, the first attempt that fails rejects. With `signal`, a
 * first attempt that is reset, times out or is closed by the server is retried with backoff
 * until the signal aborts (then `SERVER_UNREACHABLE`); a refused connection or a refused
 * handshake still rejects at once. A request whose answer is late on a live connection is sent
 * again once with the same id when `RESENT_ON_TIMEOUT` lists its op; when it times out for good
 * the connection is taken as broken: the request rejects with `TIMEOUT` and the link reconnects
 * (so the outbox, flushed on every connect, tries again).
 */
export function openRelayLink(options: RelayLinkOptions): Promise<RelayLink> {
  const timeoutMs = options.requestTimeoutMs ?? 20_000;
  const connectTimeoutMs = options.connectTimeoutMs ?? timeoutMs;
  const maxBackoff = options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
  // The server's own wait for the next attempt, when it shed this one (backoff.ts).
  let hintMs: number | undefined;
  const signal = options.signal;
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let ws: WebSocketLike | undefined;
  let connected = false;
  // The socket whose handshake is in progress (one at a time per socket).
  let handshaking: WebSocketLike | undefined;
  let closed = false;
  let everConnected = false;
  let attempts = 0;
  let acks: number[] = [];
  let first: { resolve(): void; reject(err: unknown): void } | undefined;
  // Why the last connection attempt failed, for the error a first connect ends with.
  let lastFailure = 'no answer';
  let attemptTimer: ReturnType<typeof setTimeout> | undefined;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;

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

  /** Rejects a first connect that has not succeeded, and stops the link. */
  const failFirst = (err: unknown): void => {
    if (first === undefined) return;
    const f = first;
    first = undefined;
    closed = true;
    clearTimeout(attemptTimer);
    clearTimeout(reconnectTimer);
    signal?.removeEventListener('abort', onAbort);
    const socket = ws;
    ws = undefined;
    socket?.close();
    f.reject(err);
  };
  const unreachable = (): ClientError =>
    new ClientError('SERVER_UNREACHABLE', `cannot reach the server at ${options.url} (${lastFailure})`);
  function onAbort(): void {
    failFirst(unreachable());
  }

  /** Sends request `id` (chosen by the caller, kept by a resend) and settles with its answer. */
  const rawRequest = (op: RelayOp, args: object, id: number): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const socket = ws;
      const frame = { v: RELAY_API_VERSION, type: 'request', id, op, args };
      let resent = false;
      const onTimeout = (): void => {
        if (!resent && connected && ws === socket && RESENT_ON_TIMEOUT.has(op)) {
          resent = true;
          entry.timer = setTimeout(onTimeout, timeoutMs);
          sendRaw(frame);
          return;
        }
        pending.delete(id);
        reject(new ClientError('TIMEOUT', `the server did not answer ${op} in time`));
        // A live connection that loses answers is broken: start over on a new one.
        if (connected && ws === socket && socket !== undefined) drop(socket, `no answer to ${op}`);
      };
      const entry: Pending = { resolve, reject, timer: setTimeout(onTimeout, timeoutMs) };
      pending.set(id, entry);
      sendRaw(frame);
    });

  const failAll = (err: ClientError): void => {
    for (const [id, p] of pending) {
      clearTimeout(p.timer);
      p.reject(err);
      pending.delete(id);
    }
  };

  const onChallenge = async (socket: WebSocketLike, nonce: Uint8Array): Promise<void> => {
    if (connected || handshaking === socket || ws !== socket) return;
    handshaking = socket;
    try {
      const { op, args } = await options.handshake(nonce);
      const result = await rawRequest(op, args, nextId++);
      options.handshakeAnswered?.(op, result);
      if (ws !== socket) return;
      clearTimeout(attemptTimer);
      connected = true;
      everConnected = true;
      attempts = 0;
      if (first !== undefined) {
        signal?.removeEventListener('abort', onAbort);
        first.resolve();
        first = undefined;
      }
      options.onState('connected');
    } catch (err) {
      if (ws !== socket) return;
      if (isClientError(err, 'SERVER_REFUSED')) {
        const details = err.details as { retryAfterMs?: unknown } | undefined;
        if (typeof details?.retryAfterMs === 'number') hintMs = details.retryAfterMs;
        // The server answered the handshake with a refusal (name taken, bad signature…): a first
        // connect ends with it; later, the link tries again after a pause.
        if (first !== undefined) failFirst(err);
        else drop(socket, 'the server refused the handshake');
      } else if (isClientError(err, 'TIMEOUT')) {
        drop(socket, 'no answer to the handshake');
      } else if (first !== undefined) {
        failFirst(err);
      } else {
        drop(socket, 'the handshake failed');
      }
    } finally {
      if (handshaking === socket) handshaking = undefined;
    }
  };

  const onMessage = (socket: WebSocketLike, data: unknown): void => {
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
      void onChallenge(socket, nonce);
    } else if (frame.type === 'response' || (frame.type === 'error' && frame.id !== undefined)) {
      const p = pending.get(frame.id as number);
      if (p === undefined) return;
      pending.delete(frame.id as number);
      clearTimeout(p.timer);
      if (frame.type === 'response') p.resolve(frame.result);
      else p.reject(refusal(frame.code, frame.message, frame.details));
    } else if (frame.type !== 'error') {
      options.onFrame(frame);
    }
    // An error without an id (HANDSHAKE_TIMEOUT) is followed by the server closing the socket:
    // the close decides what happens next.
  };

  const scheduleReconnect = (): void => {
    const wait = reconnectDelay(attempts, Math.random(), maxBackoff, hintMs);
    hintMs = undefined;
    attempts++;
    clearTimeout(reconnectTimer);
    reconnectTimer = setTimeout(connect, wait);
    // Once connected, a link waiting to reconnect never keeps a process alive by itself (a
    // caller that needs it back holds its own deadline, as the CLI's --timeout does). A first
    // connect is awaited by its caller: its retries must not let the process end under it.
    if (first === undefined) (reconnectTimer as { unref?: () => void }).unref?.();
  };

  /**
   * The connection `socket` is gone (closed by the server, reset, or given up on): pending
   * requests fail, and the link retries or stops. Later events of that socket are ignored.
   */
  const lost = (socket: WebSocketLike, code: number | undefined, why: string, permanent = false): void => {
    if (ws !== socket) return;
    ws = undefined;
    clearTimeout(attemptTimer);
    const wasConnected = connected;
    connected = false;
    lastFailure = why;
    failAll(new ClientError('SERVER_UNREACHABLE', 'the connection to the server closed'));
    if (closed) return;
    if (code === RELAY_CLOSE_CODES.replaced || code === RELAY_CLOSE_CODES.deviceRemoved) {
      closed = true;
      failFirst(unreachable());
      options.onState(code === RELAY_CLOSE_CODES.replaced ? 'replaced' : 'removed');
      return;
    }
    if (first !== undefined) {
      if (signal === undefined || signal.aborted || permanent || UNREACHABLE_CODES.has(why)) failFirst(unreachable());
      else {
        options.onState('disconnected');
        scheduleReconnect();
      }
      return;
    }
    if (wasConnected || everConnected) {
      options.onState('disconnected');
      scheduleReconnect();
    }
  };

  /** Gives up on `socket` now (without waiting for a closing handshake a dead peer never answers). */
  const drop = (socket: WebSocketLike, why: string): void => {
    lost(socket, undefined, why);
    socket.close();
  };

  function connect(): void {
    if (closed) return;
    options.onState('connecting');
    let socket: WebSocketLike;
    try {
      socket = options.openWebSocket(relayWebSocketUrl(options.url), 4 * 1024 * 1024);
    } catch {
      lastFailure = 'bad address';
      failFirst(unreachable());
      closed = true;
      return;
    }
    ws = socket;
    let errorCode: string | undefined;
    attemptTimer = setTimeout(() => drop(socket, `no answer within ${connectTimeoutMs} ms`), connectTimeoutMs);
    socket.addEventListener('message', (e) => onMessage(socket, e.data));
    socket.addEventListener('error', (e) => {
      errorCode = socketErrorCode(e) ?? errorCode;
    });
    socket.addEventListener('close', ({ code, reason }) => {
      if (code === TRY_AGAIN_LATER) hintMs = closeReasonHint(reason);
      const certificate = errorCode !== undefined && CERTIFICATE_CODES.has(errorCode);
      const why = certificate
        ? `its TLS certificate is not trusted here: ${errorCode}; for a private CA set NODE_EXTRA_CA_CERTS`
        : errorCode !== undefined
          ? errorCode
          : connected && ws === socket
            ? 'the connection closed'
            : 'the connection closed before the handshake';
      lost(socket, code, why, certificate);
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
      return rawRequest(op, args, nextId++) as Promise<never>;
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
      failFirst(new ClientError('CLOSED', 'the client was closed'));
      closed = true;
      connected = false;
      clearTimeout(attemptTimer);
      clearTimeout(reconnectTimer);
      failAll(new ClientError('CLOSED', 'the client was closed'));
      ws?.close(1000);
    },
  };

  try {
    checkServerUrl(options.url, options.allowInsecure === true);
  } catch (err) {
    return Promise.reject(err);
  }
  options.onLink?.(link);
  return new Promise((resolve, reject) => {
    first = { resolve: () => resolve(link), reject };
    if (signal?.aborted) {
      lastFailure = 'the deadline had passed';
      failFirst(unreachable());
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    connect();
  });
}

/** The link if it is connected; otherwise `SERVER_UNREACHABLE` (what every request needs first). */
export function requireConnected(link: RelayLink | undefined): RelayLink {
  if (link === undefined || !link.isConnected())
    throw new ClientError('SERVER_UNREACHABLE', 'not connected to the server');
  return link;
}
