/**
 * The two relays the relay benchmark compares, each run as its own process so the load
 * generator does not share their event loop:
 *   node --import tsx --conditions=source bench/relay-server.ts parley DATA_DIR   — the Parley server (SQLite, sync=FULL)
 *   node --import tsx --conditions=source bench/relay-server.ts parley - DB_URL SCHEMA BUS_URL — one node over PostgreSQL + a bus
 *   node --import tsx --conditions=source bench/relay-server.ts raw               — a minimal `ws` relay, no persistence
 * Each prints `listening URL` once ready.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startServer } from '@parley/server';
import WebSocket, { WebSocketServer } from 'ws';

const [mode, dataDir, db, dbSchema, bus] = process.argv.slice(2);

if (mode === 'parley') {
  const unlimited = 1e9;
  const server = await startServer({
    // RELAY_PORT: a fixed port, for the reconnect benchmark's restart.
    port: Number(process.env.RELAY_PORT ?? 0),
    dataDir,
    db,
    dbSchema,
    bus,
    logLevel: 'silent',
    // RELAY_SYNC=normal measures the cost of fsync per batch (the default, full, is what ships).
    sync: process.env.RELAY_SYNC === 'normal' ? 'normal' : 'full',
    limits: {
      frameRate: unlimited,
      frameBurst: unlimited,
      sendRate: unlimited,
      sendBurst: unlimited,
      fetchRate: unlimited,
      fetchBurst: unlimited,
      handshakeTimeoutMs: 60_000,
      // Every bench client comes from 127.0.0.1: the per-source limits would measure themselves.
      maxUnauthenticatedPerSource: unlimited,
      registerRatePerSource: unlimited,
      registerBurstPerSource: unlimited,
      registerRate: unlimited,
      registerBurst: unlimited,
    },
  });
  process.stdout.write(`listening ${server.url}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
} else if (mode === 'raw') {
  // The baseline: forward each frame to the addressed peer; nothing stored, nothing checked.
  const http = createServer();
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  const sockets = new Map<string, WebSocket>();
  wss.on('connection', (ws, req) => {
    const me = new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '';
    sockets.set(me, ws);
    ws.on('message', (data) => {
      // `to` is one peer, or a list of peers for the group benchmark's broadcast baseline.
      const frame = JSON.parse(String(data)) as { to: string | string[]; messageId: string; body: string };
      const out = JSON.stringify({ type: 'deliver', from: me, messageId: frame.messageId, body: frame.body });
      for (const to of Array.isArray(frame.to) ? frame.to : [frame.to]) {
        const peer = sockets.get(to);
        if (peer?.readyState === WebSocket.OPEN) peer.send(out);
      }
    });
    ws.on('close', () => sockets.delete(me));
  });
  http.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening http://127.0.0.1:${(http.address() as AddressInfo).port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
} else {
  process.stderr.write('usage: relay-server.ts parley DATA_DIR | raw\n');
  process.exit(2);
}
