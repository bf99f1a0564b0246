/**
 * `npm run bench -- drain`: how fast a CLI home (the Node SDK on better-sqlite3, a file home)
 * takes a 10,000-message backlog — each message taken from the relay, decrypted, stored and
 * acknowledged — against a minimal `ws` relay's delivery rate for the same number of 200-byte
 * messages to one receiver, in the same run (issue 19 item 6: a backlog must drain at
 * ≥ 1,000 messages/s).
 *
 * The backlog comes from ten sender accounts, 1,000 messages each: one sender may hold only
 * 10% of a device's queue (the server's default fair share), so a full 10,000-message queue has
 * at least ten senders, as in the attack the issue describes. Both relays run in child
 * processes (bench/relay-server.ts); the receiver runs here, alone, while it is timed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePlatform, openClientOn, registerAccountOn } from '@parley/client';
import WebSocket from 'ws';
import { report } from './report.ts';

const SERVER_SCRIPT = new URL('./relay-server.ts', import.meta.url).pathname;
const SENDERS = 10;
const BODY_BYTES = 200;

/** Starts `relay-server.ts` with `args`; resolves with the child and its URL. */
async function startRelay(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', SERVER_SCRIPT, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /listening (\S+)/.exec(out);
      if (m?.[1] !== undefined) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`relay exited with ${code}`)));
  });
  return { child, url };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Messages per second of wall-clock time, and per second of this process's CPU time. */
interface Rate {
  readonly wall: number;
  readonly cpu: number;
}

/** CPU time (user + system) this process has used, in seconds. */
const cpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The raw relay's delivery rate: `count` frames of `BODY_BYTES` to one receiver. */
async function rawDeliveryRate(count: number): Promise<Rate> {
  const { child, url } = await startRelay(['raw']);
  try {
    const open = async (id: string) => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/?id=${id}`, { perMessageDeflate: false });
      await new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      });
      return ws;
    };
    const receiver = await open('r');
    const sender = await open('s');
    const body = randomBytes(BODY_BYTES).toString('base64url');
    let got = 0;
    let start = 0;
    let cpuStart = 0;
    const done = new Promise<void>((resolve) => {
      receiver.on('message', (data) => {
        // Parsed like a delivery a client reads.
        JSON.parse(String(data));
        if (++got === 1) {
          start = performance.now();
          cpuStart = cpuSeconds();
        }
        if (got === count) resolve();
      });
    });
    for (let i = 0; i < count; i++) sender.send(JSON.stringify({ to: 'r', messageId: `m${i}`, body }));
    await done;
    // This process also sent the frames: its CPU time is the receiver's and the sender's.
    const rate = {
      wall: ((count - 1) * 1000) / (performance.now() - start),
      cpu: (count - 1) / (cpuSeconds() - cpuStart),
    };
    receiver.close();
    sender.close();
    return rate;
  } finally {
    await stop(child);
  }
}

/** Fills a CLI home's queue with `perSender` messages from each of `SENDERS` accounts, then times its drain. */
async function homeDrainRate(dir: string, url: string, perSender: number, round: number): Promise<Rate> {
  const name = `drain-r${round}`;
  const home = join(dir, name);
  const receiver = await registerAccountOn(nodePlatform, { home, name, server: url });
  await receiver.close();
  const text = 'x'.repeat(BODY_BYTES - 60);
  await Promise.all(
    Array.from({ length: SENDERS }, async (_, s) => {
      const sender = await registerAccountOn(nodePlatform, {
        home: join(dir, `from-${round}-${s}`),
        name: `from-r${round}-${s}`,
        server: url,
      });
      for (let i = 0; i < perSender; i++) await sender.send(name, `${i} ${text}`);
      await sender.idle();
      await sender.close();
    }),
  );
  const total = perSender * SENDERS;
  const client = await openClientOn(nodePlatform, { home });
  const events = client.events();
  let got = 0;
  const start = performance.now();
  const cpuStart = cpuSeconds();
  await client.connect();
  for await (const e of events) if (e.type === 'message' && ++got === total) break;
  // Every delivery stored: now the server's `drained` (sent once it holds no unacknowledged
  // delivery for this device) says every acknowledgement arrived.
  await client.idle();
  await client.drained();
  const elapsed = performance.now() - start;
  const cpu = cpuSeconds() - cpuStart;
  await client.close();
  return { wall: (total * 1000) / elapsed, cpu: total / cpu };
}

export async function runDrain(args: { seconds: number; runs?: number }): Promise<void> {
  const perSender = 1000;
  const total = perSender * SENDERS;
  const rounds = Math.max(1, args.runs ?? 1);
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-drain-'));
  const parley = await startRelay(['parley', join(dir, 'server')]);
  const home: Rate[] = [];
  const raw: Rate[] = [];
  try {
    for (let round = 0; round < rounds; round++) {
      home.push(await homeDrainRate(dir, parley.url, perSender, round));
      raw.push(await rawDeliveryRate(total));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    report('drain.home_msgs_per_s', median(home.map((r) => r.wall)), 'msgs/s', median(raw.map((r) => r.wall)));
    // Per CPU second of the receiving process: what a home would do with a core to itself.
    report('drain.home_msgs_per_cpu_s', median(home.map((r) => r.cpu)), 'msgs/cpu-s', median(raw.map((r) => r.cpu)));
    const show = (rs: Rate[]) => rs.map((r) => `${Math.round(r.wall)} (${Math.round(r.cpu)}/cpu-s)`).join(', ');
    process.stderr.write(
      `drain: ${total}-message backlog from ${SENDERS} senders, ${rounds} round(s); home ${show(home)} msgs/s, raw relay ${show(raw)} msgs/s\n`,
    );
  } finally {
    await stop(parley.child);
    rmSync(dir, { recursive: true, force: true });
  }
}
