/**
 * The SDK's runtime in browsers: SQLite compiled to WebAssembly for the home, its image saved
 * to IndexedDB after each committed write; the browser's WebSocket; WebCrypto for crypto
 * (ML-KEM from `@noble/post-quantum`, which WebCrypto lacks) and `crypto.getRandomValues`.
 */
import { createWebCryptoProvider, type RandomSource } from '@parley/protocol';
import sqlite3InitModule, { type Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { createIndexedDbImageStore } from './home/indexeddb-image-store.ts';
import { openWasmHomeDatabase } from './home/wasm-home-database.ts';
import type { ClientPlatform, WebSocketLike } from './platform.ts';

let sqlite: Promise<Sqlite3Static> | undefined;

/** `getRandomValues` fills at most 65,536 bytes per call. */
function webRandom(): RandomSource {
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 65_536) crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65_536)));
    return out;
  };
}

/** The browser platform: homes are named images in this profile's IndexedDB. */
export const webPlatform: ClientPlatform = {
  async openHome(home) {
    sqlite ??= sqlite3InitModule();
    return openWasmHomeDatabase(await sqlite, createIndexedDbImageStore(home));
  },
  // The browser enforces no payload cap of its own; the relay enforces its limit.
  openWebSocket: (url) => new WebSocket(url) as WebSocketLike,
  provider: createWebCryptoProvider,
  random: webRandom,
};
