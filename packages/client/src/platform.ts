/**
 * What the SDK needs from the runtime it runs in, as one small object (STYLE.md: "each runtime
 * adapter builds one tiny object"): the home database, WebSockets, crypto and randomness.
 * `node-platform.ts` builds it on better-sqlite3, `ws` and node:crypto; `web-platform.ts` on
 * SQLite-in-WebAssembly saved to IndexedDB, the browser's WebSocket and WebCrypto. The rest of
 * the SDK imports neither, so a browser bundle never pulls in Node modules.
 */
import type { CryptoProvider, RandomSource } from '@parley/protocol';
import type { AttachmentSink, AttachmentSource } from './attachments/source.ts';
import type { HomeDatabase } from './home/database.ts';

/** The part of the WHATWG WebSocket the SDK uses (the browser's, and `ws`'s in Node). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open', listener: () => void): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason?: string }) => void): void;
  /** Node's `ws` passes an event whose `error` has a `code` (`ECONNREFUSED`…); browsers pass none. */
  addEventListener(type: 'error', listener: (event: unknown) => void): void;
}

/** `WebSocket.OPEN`. */
export const WS_OPEN = 1;

/** A runtime for the SDK. */
export interface ClientPlatform {
  /** Opens (creating if needed) the home called `home`: a directory in Node, a saved image in browsers. */
  openHome(home: string): Promise<HomeDatabase>;
  /** Opens a WebSocket to `url`; frames larger than `maxPayload` bytes may be refused. */
  openWebSocket(url: string, maxPayload: number): WebSocketLike;
  /** The default crypto provider (callers may pass their own). */
  provider(): CryptoProvider;
  /** The default randomness source. */
  random(): RandomSource;
  /** Files by path, for attachments (Node); browsers pass `Blob`s and sinks instead. */
  readonly files?: {
    source(path: string): Promise<AttachmentSource>;
    sink(path: string): Promise<AttachmentSink>;
  };
}
