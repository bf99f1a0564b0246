/**
 * The SDK's runtime in browsers: SQLite compiled to WebAssembly for the home, its image saved
 * to IndexedDB after each committed write; the browser's WebSocket; WebCrypto for crypto
 * (ML-KEM from `@noble/post-quantum`, which WebCrypto lacks) and `crypto.getRandomValues`.
 */
import { createWebCryptoProvider, type RandomSource } from '@parley/protocol';
import sqlite3InitModule, { type Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { ClientError } from './errors.ts';
import { isEncryptedImage, openEncryptedImageStore } from './home/encrypted-image-store.ts';
import { createIndexedDbImageStore } from './home/indexeddb-image-store.ts';
import { openWasmHomeDatabase } from './home/wasm-home-database.ts';
import type { ClientPlatform, WebSocketLike } from './platform.ts';

/** Where to load SQLite's WebAssembly from, and its Subresource Integrity hash. */
export interface SqliteWasmSource {
  readonly url: string;
  /** `sha384-…`: the fetch fails if the file differs (SRI for code that is not a <script>). */
  readonly integrity: string;
}

/** `getRandomValues` fills at most 65,536 bytes per call. */
export function webRandom(): RandomSource {
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 65_536) crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65_536)));
    return out;
  };
}

/**
 * The browser platform: homes are named images in this profile's IndexedDB. With `sqliteWasm`,
 * SQLite's WebAssembly is fetched from that URL with that integrity hash; without, the module
 * finds it next to itself, unchecked. With `passphrase`, homes are stored encrypted under it
 * (Argon2id + AES-256-GCM, `home/encrypted-image-store.ts`); opening a protected home without
 * it, or with a wrong one, fails with `WRONG_PASSPHRASE`.
 */
export function createWebPlatform(
  options: { sqliteWasm?: SqliteWasmSource; passphrase?: string } = {},
): ClientPlatform {
  let sqlite: Promise<Sqlite3Static> | undefined;
  const source = options.sqliteWasm;
  const init = (): Promise<Sqlite3Static> =>
    source === undefined
      ? sqlite3InitModule()
      : (sqlite3InitModule as (module: object) => Promise<Sqlite3Static>)({
          instantiateWasm(
            imports: WebAssembly.Imports,
            done: (i: WebAssembly.Instance, m: WebAssembly.Module) => void,
          ) {
            void fetch(source.url, { integrity: source.integrity, credentials: 'same-origin' })
              .then((r) => WebAssembly.instantiateStreaming(r, imports))
              .then((r) => done(r.instance, r.module));
            return {};
          },
        });
  return {
    async openHome(home) {
      sqlite ??= init();
      const stored = createIndexedDbImageStore(home);
      const store =
        options.passphrase === undefined
          ? stored
          : await openEncryptedImageStore(stored, options.passphrase, webRandom());
      if (options.passphrase === undefined && isEncryptedImage(await stored.load())) {
        throw new ClientError('WRONG_PASSPHRASE', 'this home is protected by a passphrase');
      }
      return openWasmHomeDatabase(await sqlite, store);
    },
    // The browser enforces no payload cap of its own; the relay enforces its limit.
    openWebSocket: (url) => new WebSocket(url) as WebSocketLike,
    provider: createWebCryptoProvider,
    random: webRandom,
  };
}
