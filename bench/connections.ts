/**
 * `npm run bench -- connections [--sizes 1000,10000]`: server memory per idle authenticated
 * connection. For each size, a Parley server process and a minimal `ws` server process (the
 * baseline, bench/relay-server.ts raw) are started; this process (the load) opens that many
 * connections to each, spread over 127.0.0.x source addresses, authenticates them on Parley
 * (each registers its own account and stays connected), waits for the servers to settle, and
 * reads each server's VmRSS from /proc. Figures: RSS at N and bytes per connection (RSS growth
 * over the server's RSS before the connections, divided by N), and the time to open them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  authSignedBytes,
  encodeDeviceIdentityPublic,
  encodeSignedDeviceList,
  fromBase64Url,
  generateAccountIdentity,
  generateDeviceIdentity,
  signDeviceList,
  toBase64Url,
} from '@parley/protocol';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import WebSocket from 'ws';
import { startRelay, stop } from './relay.ts';
import { report } from './report.ts';

const provider = createNodeCryptoProvider();
const random = createNodeRandom();

const rssBytes = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
};

/** Source address of the i-th connection: 127.0.0.2–127.0.0.201 (each has its own ephemeral ports). */
const source = (i: number) => `127.0.0.${2 + (i % 200)}`;

/** Opens a socket and resolves with it and its first frame (Parley's challenge), or just the socket (raw). */
function connect(url: string, i: number, waitFrame: boolean): Promise<{ ws: WebSocket; first?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, localAddress: source(i) });
    ws.once('error', reject);
    if (waitFrame) ws.once('message', (d) => resolve({ ws, first: String(d) }));
    else ws.once('open', () => resolve({ ws }));
  });
}

/** Sends one request on `ws` and resolves with the answer's type. */
function request(ws: WebSocket, op: string, args: unknown): Promise<string> {
  const answer = new Promise<string>((resolve) => {
    const on = (d: WebSocket.RawData) => {
      const f = JSON.parse(String(d)) as { type: string; id?: number };
      if (f.id === 1) {
        ws.off('message', on);
        resolve(f.type);
      }
    };
    ws.on('message', on);
  });
  ws.send(JSON.stringify({ v: 1, type: 'request', id: 1, op, args }));
  return answer;
}

const nonceOf = (first: string | undefined) =>
  fromBase64Url('nonce', (JSON.parse(first as string) as { nonce: string }).nonce);

type Identity = Awaited<ReturnType<typeof generateDeviceIdentity>>;

/** Registers account `name` over a connection it then closes; returns the device identity. */
async function register(wsUrl: string, name: string, i: number): Promise<Identity> {
  const { ws, first } = await connect(wsUrl, i, true);
  const account = await generateAccountIdentity(provider, random);
  const id = await generateDeviceIdentity(provider, random);
  const idBytes = encodeDeviceIdentityPublic(id.publicIdentity);
  const list = await signDeviceList(provider, account.privateKey, 1, [{ id: 1, identity: idBytes }]);
  const signature = await provider.ed25519Sign(id.signingPrivateKey, authSignedBytes(nonceOf(first), name, 0));
  const type = await request(ws, 'register', {
    name,
    accountKey: toBase64Url(account.publicKey),
    identity: toBase64Url(idBytes),
    deviceList: toBase64Url(encodeSignedDeviceList(list)),
    signature: toBase64Url(signature),
  });
  if (type !== 'response') throw new Error(`register ${name}: ${type}`);
  ws.terminate();
  return id;
}

/** Authenticates device 1 of `name` over a new connection and leaves it open (authenticated, idle). */
async function authIdle(wsUrl: string, name: string, id: Identity, i: number): Promise<WebSocket> {
  const { ws, first } = await connect(wsUrl, i, true);
  const signature = await provider.ed25519Sign(id.signingPrivateKey, authSignedBytes(nonceOf(first), name, 1));
  const type = await request(ws, 'auth', { name, device: 1, signature: toBase64Url(signature) });
  if (type !== 'response') throw new Error(`auth ${name}: ${type}`);
  return ws;
}

/** Opens `n` connections with `open` at most `parallel` at a time; returns them and the seconds taken. */
async function openMany<T>(n: number, open: (i: number) => Promise<T>, parallel = 64) {
  const sockets: T[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < n) {
        const i = next++;
        sockets[i] = await open(i);
      }
    }),
  );
  return { sockets, seconds: (performance.now() - start) / 1000 };
}

/** Starts a server, measures its RSS before and with `n` idle connections, stops it. */
async function measure(kind: 'parley' | 'raw', n: number) {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-conn-'));
  const relay = await startRelay(kind === 'parley' ? ['parley', dir] : ['raw']);
  const pid = relay.child.pid as number;
  try {
    const wsUrl = `${relay.url.replace(/^http/, 'ws')}/v1/ws`;
    // Parley: the accounts are registered first (over connections closed again), so the figure is
    // what holding an authenticated connection costs, not what creating an account does.
    const ids = kind === 'parley' ? (await openMany(n, (i) => register(wsUrl, `conn${i}`, i))).sockets : [];
    await sleep(2000);
    const before = rssBytes(pid);
    const { sockets, seconds } = await openMany(n, (i) =>
      kind === 'parley'
        ? authIdle(wsUrl, `conn${i}`, ids[i] as Identity, i)
        : connect(`${wsUrl}?id=${i}`, i, false).then((c) => c.ws),
    );
    await sleep(3000);
    const after = rssBytes(pid);
    for (const ws of sockets) ws.terminate();
    return { rss: after, perConnection: (after - before) / n, seconds };
  } finally {
    await stop(relay.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runConnections(args: { sizes?: number[] }): Promise<void> {
  // Registration's fsyncs are not what is measured (the relay-server reads this).
  process.env.RELAY_SYNC = 'normal';
  for (const n of args.sizes ?? [1000, 10_000]) {
    const raw = await measure('raw', n);
    const parley = await measure('parley', n);
    report(`connections ${n}: server RSS`, parley.rss / 2 ** 20, 'MiB', raw.rss / 2 ** 20);
    report(`connections ${n}: bytes per idle connection`, parley.perConnection, 'B', raw.perConnection);
    report(`connections ${n}: seconds to open`, parley.seconds, 's', raw.seconds);
  }
}
