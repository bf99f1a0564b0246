/**
 * Test environment: a real relay server on a random port over a real SQLite file in a temp
 * directory, and client homes beside it. Everything is removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ClientEvent,
  type KeyChangePolicy,
  openClient,
  type ParleyClient,
  registerAccount,
  startLink,
} from '@parley/client';
import { type RunningServer, SQLITE_FILE, startServer } from '@parley/server';
import Database from 'better-sqlite3';

/** A temporary world: one server, any number of homes. */
export interface TestWorld {
  readonly dir: string;
  readonly dataDir: string;
  server: RunningServer;
  home(name: string): string;
  register(name: string, options?: { keyChangePolicy?: KeyChangePolicy; clock?: () => number }): Promise<ParleyClient>;
  /** Links a new device (home `home`) to `existing`'s account and returns it, connected. */
  link(existing: ParleyClient, home: string, deviceName?: string): Promise<ParleyClient>;
  restartServer(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a server in a fresh temp directory. Its key directory publishes an epoch 200 ms after a
 * change (not every 10 s): suites that move their clients' clocks ahead (an hour per case) would
 * otherwise see a new account's key still outside the directory long past the clients' grace.
 */
export async function createWorld(limits: Parameters<typeof startServer>[0] = {}): Promise<TestWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-test-'));
  const dataDir = join(dir, 'server');
  const clients: ParleyClient[] = [];
  const closedClients = new WeakSet<ParleyClient>();
  const track = (c: ParleyClient): ParleyClient => {
    clients.push(c);
    const close = c.close.bind(c);
    c.close = async () => {
      closedClients.add(c);
      await close();
    };
    return c;
  };
  const world: TestWorld = {
    dir,
    dataDir,
    server: await startServer({ port: 0, dataDir, logLevel: 'silent', ktEpochMs: 200, ...limits }),
    home: (name) => join(dir, `home-${name}`),
    // Read receipts are on by default (a home setting); the suites that use this world count
    // messages and their states exactly, so their clients send none unless a test asks.
    async register(name, options = {}) {
      const server = world.server.url;
      return track(
        await registerAccount({ home: world.home(name), name, server, maxBackoffMs: 200, receipts: false, ...options }),
      );
    },
    async link(existing, home, deviceName = home) {
      const pending = await startLink({ home: world.home(home), server: world.server.url, deviceName });
      await existing.acceptLink(pending.code);
      await pending.done;
      const c = track(await openClient({ home: world.home(home), maxBackoffMs: 200, receipts: false }));
      await c.connect();
      return c;
    },
    async restartServer() {
      const port = world.server.port;
      await world.server.close();
      world.server = await startServer({ port, dataDir, logLevel: 'silent', ktEpochMs: 200, ...limits });
      // Every open client reconnects (backoff capped at 200 ms) before the test goes on.
      const deadline = Date.now() + 10_000;
      while (clients.some((c) => !closedClients.has(c) && !c.isConnected()) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      for (const c of clients) await c.close().catch(() => {});
      await world.server.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Collects `message` events until `count` have arrived (or the timeout passes: then it throws). */
export async function nextMessages(client: ParleyClient, count: number, timeoutMs = 15_000): Promise<string[]> {
  return collect(client.events(), count, timeoutMs);
}

/** Collects `count` message texts from an already-open event iterator. */
export async function collect(
  events: AsyncIterableIterator<ClientEvent>,
  count: number,
  timeoutMs = 15_000,
): Promise<string[]> {
  const texts: string[] = [];
  const timer = setTimeout(() => void events.return?.(), timeoutMs);
  try {
    for await (const e of events) {
      if (e.type === 'message') texts.push(e.message.text);
      if (texts.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  if (texts.length < count)
    throw new Error(`expected ${count} messages, got ${texts.length}: ${JSON.stringify(texts)}`);
  return texts;
}

/**
 * The server forgets an account (a reinstall, or an operator swapping keys: the name is free to
 * register again under new keys): its rows go, straight from the server's SQLite file.
 */
export function forgetAccount(world: TestWorld, name: string): void {
  const db = new Database(join(world.dataDir, SQLITE_FILE));
  db.pragma('busy_timeout = 5000');
  for (const t of ['devices', 'signed_prekeys', 'one_time_prekeys', 'kem_prekeys']) {
    db.prepare(`DELETE FROM ${t} WHERE account = ?`).run(name);
  }
  db.prepare('DELETE FROM accounts WHERE name = ?').run(name);
  db.close();
}
