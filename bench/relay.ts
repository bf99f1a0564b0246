/**
 * `npm run bench -- relay`: delivered messages per second and send→delivery latency through the
 * Parley relay (SQLite, durable acknowledgements) against a minimal `ws` relay without
 * persistence, both measured in the same run with the same load over N/2 sender→receiver pairs
 * of 200-byte ciphertexts:
 *  - throughput and saturation latency (`relay.p50_ms_Nconn`, `relay.p99_ms_Nconn`): closed
 *    loop, each sender keeping `WINDOW` messages in flight and sending the next on delivery.
 *    By Little's law these percentiles are about `WINDOW × senders / throughput`: they show
 *    how long a message waits in a saturated relay, so they track the throughput ratio;
 *  - latency at a fixed load (`…_at_5000msgs`): open loop at `LATENCY_RATE` messages/s spread
 *    over all senders, so the percentiles show the relay's own delay, not a queue we made.
 *
 * Both relays run in child processes; the load generator (this process) is identical for both
 * except for the frames each relay speaks. The Parley receivers acknowledge every delivery, as
 * real clients do; the raw relay has nothing to acknowledge.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { createKeyPackage } from '@parley/protocol/groups';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import pg from 'pg';
import WebSocket from 'ws';
import { report } from './report.ts';

const WINDOW = 8;
const LATENCY_RATE = 5000;
const BODY_BYTES = 200;
const SERVER_SCRIPT = new URL('./relay-server.ts', import.meta.url).pathname;

interface Measured {
  readonly throughput: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU time per message delivered in the window, in µs: this process (the load generator) and the relay's. */
  readonly cpuPerMessage: { readonly generator: number; readonly relay: number; readonly relayLoop: number };
}

/**
 * User + system CPU time so far, in µs, of every thread of process `pid` and of its main thread
 * alone (the event loop; the rest is the storage thread, GC and other helpers). Linux /proc;
 * NaN elsewhere.
 */
function processCpuMicros(pid: number | undefined): { all: number; main: number } {
  const read = (path: string) => {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const stat = readFileSync(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  };
  try {
    return { all: read(`/proc/${pid}/stat`), main: read(`/proc/${pid}/task/${pid}/stat`) };
  } catch {
    return { all: Number.NaN, main: Number.NaN };
  }
}

/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const CLOCK_TICKS = 100;

/**
 * A sender→receiver pair as the load loop drives it. The receiver's socket listener is added
 * once, when the pair is built, and calls `delivered`; each load phase replaces `delivered`
 * (adding a listener per phase would parse, and on Parley acknowledge, every delivery twice).
 */
interface Pair {
  /** Sends one body to the paired receiver with the given id. */
  send(messageId: string, body: string): void;
  /** Called with the message id of each delivery to the receiver. */
  delivered: (messageId: string) => void;
}

/** A relay under test: its process and URL. */
interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  /** Whether it is the Parley server (with `/metrics`) or the raw relay. */
  readonly parley: boolean;
}

/**
 * Storage batches (transactions of sends) the Parley relays have written so far and the seconds
 * they took, from their `/metrics`; NaN for a relay without them (the raw one).
 */
async function storageBatches(relays: readonly Started[]): Promise<{ count: number; seconds: number }> {
  const none = { count: Number.NaN, seconds: Number.NaN };
  const total = { count: 0, seconds: 0 };
  for (const r of relays) {
    if (!r.parley) return none;
    try {
      const text = await (await fetch(`${r.url}/metrics`)).text();
      const metric = (name: string) =>
        Number(new RegExp(`^${name}\\{op="batch"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
      total.count += metric('parley_store_seconds_count');
      total.seconds += metric('parley_store_seconds_sum');
    } catch {
      return none;
    }
  }
  return total;
}

export function startRelay(args: string[]): Promise<Started> {
  // RELAY_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=.tmp/prof") profiles the relay under test.
  const flags = process.env.RELAY_NODE_FLAGS?.split(' ').filter(Boolean) ?? [];
  // RELAY_WRAP (e.g. "strace -f -c -o .tmp/syscalls") runs the Parley relay under a tracer.
  const wrap = args[0] === 'parley' ? (process.env.RELAY_WRAP?.split(' ').filter(Boolean) ?? []) : [];
  const [cmd, ...pre] = wrap.length > 0 ? [...wrap, process.execPath] : [process.execPath];
  const child = spawn(
    cmd as string,
    [...pre, ...flags, '--import', 'tsx', '--conditions=source', SERVER_SCRIPT, ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /listening (\S+)/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1], parley: args[0] === 'parley' });
    });
    child.once('exit', (code) => reject(new Error(`relay exited (${code})`)));
  });
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** How the Parley relay's answers to requests begin (JSON.stringify keeps key order). */
const RESPONSE = Buffer.from('{"type":"response",');

/** Runs started in this process (part of every message id). */
let runs = 0;

/** How long a run waits, after its window, for the messages sent in it still in flight. */
const DRAIN_MS = 30_000;

/**
 * Drives the pairs for `seconds` after a warm-up: closed loop (`WINDOW` in flight per sender)
 * when `rate` is undefined, else open loop at `rate` messages/s in total. Throughput counts the
 * deliveries inside the window; the latency percentiles are over every message *sent* inside
 * it, waiting after the window for the late ones (up to `DRAIN_MS`), so a slow relay's
 * slowest messages are not left out of its percentiles.
 */
async function load(
  relay: string,
  relays: readonly Started[],
  pairs: Pair[],
  seconds: number,
  rate?: number,
): Promise<Measured> {
  const random = createNodeRandom();
  const sentAt = new Map<string, number>();
  // Ids sent inside the window whose delivery has not been seen yet.
  const outstanding = new Set<string>();
  const latencies: number[] = [];
  let delivered = 0;
  let measuring = false;
  let running = true;
  let seq = 0;
  let drained: (() => void) | undefined;
  const body = toBase64Url(random(BODY_BYTES));
  // Ids are unique across runs: the Parley relay answers a reused message id as a duplicate
  // (idempotent retries) and does not deliver it again.
  const run = ++runs;
  const sendOne = (p: Pair, i: number) => {
    const id = `bench-${run}-${i}-${seq++}`;
    sentAt.set(id, performance.now());
    if (measuring) outstanding.add(id);
    p.send(id, body);
  };
  pairs.forEach((p, i) => {
    p.delivered = (messageId) => {
      const t0 = sentAt.get(messageId);
      if (t0 === undefined) return;
      sentAt.delete(messageId);
      if (measuring) delivered++;
      if (outstanding.delete(messageId)) {
        latencies.push(performance.now() - t0);
        if (outstanding.size === 0) drained?.();
      }
      if (running && rate === undefined) sendOne(p, i);
    };
    if (rate === undefined) for (let w = 0; w < WINDOW; w++) sendOne(p, i);
  });
  let ticker: ReturnType<typeof setInterval> | undefined;
  if (rate !== undefined) {
    // Every 5 ms, send what the offered rate owes, round-robin over the senders.
    const start = performance.now();
    let sent = 0;
    let next = 0;
    ticker = setInterval(() => {
      const owed = Math.floor(((performance.now() - start) / 1000) * rate) - sent;
      for (let k = 0; k < owed; k++) {
        sendOne(pairs[next] as Pair, next);
        next = (next + 1) % pairs.length;
      }
      sent += Math.max(0, owed);
    }, 5);
  }
  await new Promise((r) => setTimeout(r, Math.min(1000, seconds * 300)));
  const relayCpu = () =>
    relays.reduce(
      (sum, r) => {
        const t = processCpuMicros(r.child.pid);
        return { all: sum.all + t.all, main: sum.main + t.main };
      },
      { all: 0, main: 0 },
    );
  measuring = true;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const relayStart = relayCpu();
  const batchesStart = await storageBatches(relays);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  const elapsed = (performance.now() - start) / 1000;
  const generatorUsed = process.cpuUsage(cpuStart);
  const relayEnd = relayCpu();
  const batchesEnd = await storageBatches(relays);
  const batches = batchesEnd.count - batchesStart.count;
  const batchMs = ((batchesEnd.seconds - batchesStart.seconds) * 1000) / batches;
  const cpuPerMessage = {
    generator: (generatorUsed.user + generatorUsed.system) / delivered,
    relay: (relayEnd.all - relayStart.all) / delivered,
    relayLoop: (relayEnd.main - relayStart.main) / delivered,
  };
  running = false;
  clearInterval(ticker);
  if (outstanding.size > 0) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, DRAIN_MS);
      drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  if (outstanding.size > 0)
    process.stderr.write(
      `relay bench: ${relay}: ${outstanding.size} of the window's messages undelivered ${DRAIN_MS / 1000} s after it\n`,
    );
  await new Promise((r) => setTimeout(r, 300));
  latencies.sort((a, b) => a - b);
  process.stderr.write(
    `relay bench: ${relay}${rate === undefined ? '' : ` at ${rate} msgs/s`}: CPU per delivered message ${cpuPerMessage.generator.toFixed(1)} µs load generator + ${cpuPerMessage.relay.toFixed(1)} µs relay (${cpuPerMessage.relayLoop.toFixed(1)} µs of it on its main thread)${Number.isNaN(batches) ? '' : `, ${(delivered / batches).toFixed(1)} messages per storage batch of ${batchMs.toFixed(1)} ms`}\n`,
  );
  return {
    throughput: delivered / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuPerMessage,
  };
}

/** What one relay measured: the closed-loop (saturation) run and the open-loop run at `LATENCY_RATE`. */
interface Runs {
  readonly saturated: Measured;
  readonly paced: Measured;
}

/** Both runs, one after the other, over the same connections. */
async function both(relay: string, relays: readonly Started[], pairs: Pair[], seconds: number): Promise<Runs> {
  const saturated = await load(relay, relays, pairs, seconds);
  const paced = await load(relay, relays, pairs, seconds, LATENCY_RATE);
  return { saturated, paced };
}

async function measureRaw(connections: number, seconds: number): Promise<Runs> {
  const { child, url } = await startRelay(['raw']);
  const ws = url.replace(/^http/, 'ws');
  const n = connections / 2;
  const sockets: WebSocket[] = [];
  try {
    const pairs: Pair[] = [];
    for (let i = 0; i < n; i++) {
      const s = await open(`${ws}/?id=s${i}`);
      const r = await open(`${ws}/?id=r${i}`);
      sockets.push(s, r);
      const pair: Pair = {
        // Ids and bodies are [A-Za-z0-9_-]: the frame is written as text, as lean as the Parley one.
        send: (messageId, b) => s.send(`{"to":"r${i}","messageId":"${messageId}","body":"${b}"}`),
        delivered: () => {},
      };
      r.on('message', (d) => pair.delivered((JSON.parse(String(d)) as { messageId: string }).messageId));
      pairs.push(pair);
    }
    return await both('raw ws relay', [{ child, url, parley: false }], pairs, seconds);
  } finally {
    for (const s of sockets) s.terminate();
    await stop(child);
  }
}

/**
 * Registers a fresh account over a new socket; resolves with the authenticated socket. With
 * `keyPackage`, its device also publishes one KeyPackage (so a group commit may list it).
 */
export async function registered(url: string, name: string, keyPackage = false): Promise<WebSocket> {
  const provider = createNodeCryptoProvider();
  const random = createNodeRandom();
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, { perMessageDeflate: false });
  // Listening before 'open': the challenge can arrive in the same read as the upgrade answer.
  const nonce = await new Promise<Uint8Array>((resolve, reject) => {
    ws.once('message', (d) => resolve(fromBase64Url('nonce', (JSON.parse(String(d)) as { nonce: string }).nonce)));
    ws.once('error', reject);
  });
  const account = await generateAccountIdentity(provider, random);
  const device = await generateDeviceIdentity(provider, random);
  const identity = encodeDeviceIdentityPublic(device.publicIdentity);
  const list = await signDeviceList(provider, account.privateKey, 1, [{ id: 1, identity }]);
  const signature = await provider.ed25519Sign(device.signingPrivateKey, authSignedBytes(nonce, name, 0));
  const args = {
    name,
    accountKey: toBase64Url(account.publicKey),
    identity: toBase64Url(identity),
    deviceList: toBase64Url(encodeSignedDeviceList(list)),
    signature: toBase64Url(signature),
  };
  ws.send(JSON.stringify({ v: 1, type: 'request', id: 0, op: 'register', args }));
  await new Promise<void>((resolve, reject) =>
    ws.on('message', function onAnswer(d) {
      const f = JSON.parse(String(d)) as { type: string; id?: number };
      if (f.id !== 0) return;
      ws.off('message', onAnswer);
      if (f.type === 'response') resolve();
      else reject(new Error(`register ${name}: ${String(d)}`));
    }),
  );
  if (keyPackage) {
    const kp = toBase64Url((await createKeyPackage(device, name, 1)).keyPackage);
    ws.send(JSON.stringify({ v: 1, type: 'request', id: 1, op: 'upload-key-packages', args: { keyPackages: [kp] } }));
    await new Promise<void>((resolve, reject) =>
      ws.on('message', function onAnswer(d) {
        const f = JSON.parse(String(d)) as { type: string; id?: number };
        if (f.id !== 1) return;
        ws.off('message', onAnswer);
        if (f.type === 'response') resolve();
        else reject(new Error(`upload-key-packages ${name}: ${String(d)}`));
      }),
    );
  }
  return ws;
}

/** How the Parley relay under test is deployed. */
interface Deployment {
  /** SQLite in a temp dir (default), or PostgreSQL in a fresh schema. */
  readonly db?: string;
  readonly bus?: string;
  readonly nodes?: number;
}

async function measureParley(connections: number, seconds: number, deploy: Deployment = {}): Promise<Runs> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-relay-'));
  const schema = `parley_bench_${randomBytes(6).toString('hex')}`;
  const nodeArgs =
    deploy.db === undefined
      ? ['parley', join(dir, 'data')]
      : ['parley', '-', deploy.db, schema, ...(deploy.bus === undefined ? [] : [deploy.bus])];
  const started: Started[] = [];
  // Nodes start one after another: the first creates the schema and runs the migrations.
  for (let k = 0; k < (deploy.nodes ?? 1); k++) started.push(await startRelay(nodeArgs));
  const urls = started.map((s) => s.url);
  const n = connections / 2;
  const sockets: WebSocket[] = [];
  try {
    const pairs: Pair[] = [];
    for (let i = 0; i < n; i += 25) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(25, n - i) }, async (_, k) => {
          // With several nodes, each pair's sender and receiver sit on different nodes.
          const s = await registered(urls[(i + k) % urls.length] as string, `sender${i + k}`);
          const r = await registered(urls[(i + k + 1) % urls.length] as string, `receiver${i + k}`);
          return { s, r, peer: `receiver${i + k}` };
        }),
      );
      for (const { s, r, peer } of batch) {
        sockets.push(s, r);
        s.on('message', (d: Buffer) => {
          // The answer to a send is its durable acknowledgement; only a refusal needs reading (a
          // refused send would silently stall the loop: make it loud instead).
          if (d.compare(RESPONSE, 0, RESPONSE.length, 0, RESPONSE.length) === 0) return;
          const f = JSON.parse(String(d)) as { type: string; code?: string };
          if (f.type === 'error') throw new Error(`the relay refused a benchmark send: ${f.code}`);
        });
        let id = 1;
        let acks: number[] = [];
        const pair: Pair = {
          // Names, ids and bodies are [a-z0-9_.-] or base64url: no escaping needed.
          send: (messageId, body) =>
            s.send(
              `{"v":1,"type":"request","id":${id++},"op":"send","args":{"name":"${peer}","messageId":"${messageId}","messages":[{"device":1,"kind":"ratchet","body":"${body}"}]}}`,
            ),
          delivered: () => {},
        };
        r.on('message', (d) => {
          const f = JSON.parse(String(d)) as { type: string; seq: number; messageId: string };
          if (f.type !== 'deliver') return;
          // One ack frame per receiver per event-loop turn, as the client SDK batches them.
          if (acks.length === 0) {
            setImmediate(() => {
              r.send(`{"v":1,"type":"ack","seqs":[${acks.join(',')}]}`);
              acks = [];
            });
          }
          acks.push(f.seq);
          pair.delivered(f.messageId);
        });
        pairs.push(pair);
      }
    }
    return await both('parley relay', started, pairs, seconds);
  } finally {
    for (const s of sockets) s.terminate();
    for (const s of started) await stop(s.child);
    rmSync(dir, { recursive: true, force: true });
    if (deploy.db !== undefined) await dropSchema(deploy.db, schema);
  }
}

/**
 * Runs the relay benchmark for each connection count (100 and 1,000 unless `connections` is
 * given; odd counts are rounded down to whole pairs). Per count it prints throughput, the
 * closed-loop p50/p99 from the same run, and the open-loop p50/p99 at `LATENCY_RATE`, each
 * against the raw relay measured the same way.
 */
async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}

/**
 * `--nodes N --db postgres --bus nats|redis`: the scale-out run. In one run: the single-node
 * SQLite relay, one node over PostgreSQL, and N nodes over PostgreSQL + the bus with every
 * pair split across nodes. Ratios: PostgreSQL vs SQLite on one node, N nodes vs one.
 */
async function runScaleOut(seconds: number, connections: number, nodes: number, bus: string): Promise<void> {
  const db = process.env.PARLEY_BENCH_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
  const busUrl =
    bus === 'redis'
      ? (process.env.PARLEY_BENCH_REDIS ?? 'redis://127.0.0.1:6379')
      : (process.env.PARLEY_BENCH_NATS ?? 'nats://127.0.0.1:4222');
  const sqlite = await measureParley(connections, seconds);
  const one = await measureParley(connections, seconds, { db });
  const many = await measureParley(connections, seconds, { db, bus: busUrl, nodes });
  report(
    `relay.postgres_1node_throughput_${connections}conn`,
    one.saturated.throughput,
    'msgs/s',
    sqlite.saturated.throughput,
  );
  report(
    `relay.postgres_${nodes}nodes_${bus}_throughput_${connections}conn`,
    many.saturated.throughput,
    'msgs/s',
    one.saturated.throughput,
  );
  report(`relay.postgres_1node_p99_ms_at_${LATENCY_RATE}msgs`, one.paced.p99, 'ms', sqlite.paced.p99);
  report(`relay.postgres_${nodes}nodes_${bus}_p99_ms_at_${LATENCY_RATE}msgs`, many.paced.p99, 'ms', one.paced.p99);
}

export async function runRelay({
  seconds,
  connections,
  nodes,
  bus,
}: {
  seconds: number;
  connections?: number;
  nodes?: number;
  bus?: string;
}): Promise<void> {
  if (nodes !== undefined) {
    if (!(nodes >= 1) || (bus !== 'nats' && bus !== 'redis'))
      throw new Error('usage: relay --nodes N --db postgres --bus nats|redis');
    await runScaleOut(seconds, connections ?? 100, nodes, bus);
    return;
  }
  for (const c of connections === undefined ? [100, 1000] : [connections]) {
    const conns = c - (c % 2);
    if (!(conns >= 2)) throw new Error(`expected --connections of at least 2, got ${c}`);
    const raw = await measureRaw(conns, seconds);
    const parley = await measureParley(conns, seconds);
    report(`relay.throughput_${conns}conn`, parley.saturated.throughput, 'msgs/s', raw.saturated.throughput);
    report(`relay.p50_ms_${conns}conn`, parley.saturated.p50, 'ms', raw.saturated.p50);
    report(`relay.p99_ms_${conns}conn`, parley.saturated.p99, 'ms', raw.saturated.p99);
    report(`relay.p50_ms_${conns}conn_at_${LATENCY_RATE}msgs`, parley.paced.p50, 'ms', raw.paced.p50);
    report(`relay.p99_ms_${conns}conn_at_${LATENCY_RATE}msgs`, parley.paced.p99, 'ms', raw.paced.p99);
  }
}
