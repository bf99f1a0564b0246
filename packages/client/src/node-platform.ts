/**
 * The SDK's runtime on Node: better-sqlite3 for the home directory, `ws` for WebSockets,
 * node:crypto (OpenSSL) for crypto and randomness.
 */
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import WebSocket from 'ws';
import { fileSink, fileSource } from './attachments/node-files.ts';
import { openBetterSqlite3Home } from './home/better-sqlite3-home-database.ts';
import type { ClientPlatform, WebSocketLike } from './platform.ts';

/** The Node platform. */
export const nodePlatform: ClientPlatform = {
  openHome: async (home) => openBetterSqlite3Home(home),
  openWebSocket: (url, maxPayload) => new WebSocket(url, { maxPayload }) as unknown as WebSocketLike,
  provider: createNodeCryptoProvider,
  random: createNodeRandom,
  files: { source: fileSource, sink: fileSink },
};
