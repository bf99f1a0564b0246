/**
 * `npm run bench -- home`: how fast a client takes in a backlog of messages with the browser's
 * storage backend (SQLite compiled to WebAssembly, its image saved after each committed write;
 * an in-memory image store stands in for IndexedDB) against the Node backend (better-sqlite3 on
 * a file, synchronous = FULL) in the same run: same relay, same crypto (node:crypto), same
 * backlog, rounds alternating. Also the saved image's size against the SQLite file's (with its WAL). The
 * browser suite measures the real thing (WebCrypto and IndexedDB) end to end; this isolates
 * the storage backend.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClientPlatform,
  createMemoryImageStore,
  HOME_DB_FILE,
  type ImageStore,
  nodePlatform,
  openClientOn,
  openWasmHomeDatabase,
  registerAccountOn,
} from '@parley/client';
import { startServer } from '@parley/server';
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { report } from './report.ts';

/** Messages per backlog: under the relay's send burst (200), so no send waits for its rate limit. */
const BACKLOG = 150;

export async function runHome(args: { seconds: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-home-'));
  const server = await startServer({ port: 0, dataDir: join(dir, 'server'), logLevel: 'silent' });
  const sqlite3 = await sqlite3InitModule();
  const images = new Map<string, ReturnType<typeof createMemoryImageStore>>();
  let saves = 0;
  const wasm: ClientPlatform = {
    ...nodePlatform,
    openHome: async (home) => {
      const inner = images.get(home) ?? createMemoryImageStore();
      images.set(home, inner);
      const counted: ImageStore = {
        load: inner.load,
        save: async (image) => {
          saves++;
          await inner.save(image);
        },
      };
      return openWasmHomeDatabase(sqlite3, counted);
    },
  };
  const rounds = Math.max(2, Math.round(args.seconds));
  const rates: Record<'node' | 'wasm', number[]> = { node: [], wasm: [] };
  let savesPerBacklog = 0;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const backend of ['node', 'wasm'] as const) {
        const platform = backend === 'wasm' ? wasm : nodePlatform;
        const name = `${backend}-r${round}`;
        const home = backend === 'wasm' ? name : join(dir, name);
        // A fresh sender per backlog, so the relay's per-account send rate never throttles it.
        const sender = await registerAccountOn(nodePlatform, {
          home: join(dir, `from-${name}`),
          name: `from-${name}`,
          server: server.url,
        });
        const receiver = await registerAccountOn(platform, { home, name, server: server.url });
        await receiver.close();
        for (let i = 0; i < BACKLOG; i++) await sender.send(name, `message ${i} of the backlog`);
        await sender.idle();
        const reopened = await openClientOn(platform, { home });
        let got = 0;
        const events = reopened.events();
        saves = 0;
        const start = performance.now();
        await reopened.connect();
        for await (const e of events) if (e.type === 'message' && ++got === BACKLOG) break;
        await reopened.idle();
        rates[backend].push((BACKLOG * 1000) / (performance.now() - start));
        if (backend === 'wasm') savesPerBacklog = saves;
        await reopened.close();
        await sender.close();
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    report('home.backlog_msgs_per_s', median(rates.wasm), 'msgs/s', median(rates.node));
    const imageKb = (images.get(`wasm-r${rounds - 1}`)?.image()?.length ?? 0) / 1024;
    const file = join(dir, `node-r${rounds - 1}`, HOME_DB_FILE);
    const fileKb = (statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0)) / 1024;
    report('home.stored_kb', imageKb, 'KiB', fileKb);
    process.stderr.write(
      `home: ${BACKLOG}-message backlog, ${rounds} rounds; the WebAssembly home saved its image ${savesPerBacklog} times for the last backlog\n`,
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
