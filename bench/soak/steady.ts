/**
 * `npm run soak -- --minutes N`: steady mixed load (one-to-one pairs, one group, clients that
 * close and come back) against a server process; its RSS, heap and open files are sampled every
 * 10 s. After a warm-up (the first fifth, at least a minute when the run is long enough) it reports
 * RSS and heap growth, and whether open files return to the baseline once every client has left.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientEvent, openClient, type ParleyClient, registerAccount } from '@parley/client';
import { freePort, ServerProcess } from './processes.ts';

export interface Sample {
  readonly name: 'soak-sample';
  readonly t: number;
  readonly rssMiB: number;
  readonly heapMiB: number | undefined;
  readonly fds: number;
  readonly sent: number;
  readonly received: number;
  readonly reconnects: number;
}

export interface SteadySummary {
  readonly name: 'soak';
  readonly minutes: number;
  readonly clients: number;
  readonly sent: number;
  readonly received: number;
  readonly reconnects: number;
  readonly warmupS: number;
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  readonly rssGrowthPct: number;
  readonly heapStartMiB: number | undefined;
  readonly heapEndMiB: number | undefined;
  readonly heapGrowthPct: number | undefined;
  readonly fdsBaseline: number;
  readonly fdsUnderLoad: number;
  readonly fdsAfterLeave: number;
  readonly fdsBackToBaseline: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}
const fdsOf = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;
async function heapOf(url: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^\S*nodejs_heap_size_used_bytes\s+([\d.e+]+)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function runSteady(o: {
  minutes: number;
  clients: number;
  onSample?: (s: Sample) => void;
}): Promise<SteadySummary> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-soak-'));
  const server = new ServerProcess(await freePort(), join(dir, 'server'));
  const live = new Map<string, ParleyClient>();
  try {
    await server.start();
    const pid = server.pid;
    await heapOf(server.url); // the first scrape starts the process metrics
    await sleep(2000);
    const fdsBaseline = fdsOf(pid);
    let sent = 0;
    let received = 0;
    let reconnects = 0;
    const names = Array.from({ length: o.clients }, (_, i) => `load${i}`);
    const listen = (c: ParleyClient) => {
      const events = c.events();
      void (async () => {
        for await (const e of events as AsyncIterable<ClientEvent>) if (e.type === 'message') received++;
      })();
    };
    for (const name of names) {
      const c = await registerAccount({
        home: join(dir, `home-${name}`),
        name,
        server: server.url,
        maxBackoffMs: 1000,
        receipts: true,
      });
      listen(c);
      live.set(name, c);
    }
    const groupMembers = names.slice(0, Math.min(8, names.length));
    const { id: groupId } = await (live.get(names[0] as string) as ParleyClient).createGroup(
      'soak',
      groupMembers.slice(1),
    );

    const endAt = Date.now() + o.minutes * 60_000;
    let running = true;
    // Each client: a message to its partner every ~2 s, to the group every ~10 s (group members).
    const loops = names.map(async (name, i) => {
      const partner = names[i ^ 1] ?? names[0];
      let n = 0;
      await sleep(Math.random() * 2000);
      while (running) {
        const c = live.get(name);
        if (c !== undefined) {
          n++;
          try {
            if (groupMembers.includes(name) && n % 5 === 0) await c.sendToGroup(groupId, `${name} group ${n}`);
            else await c.send(partner as string, `${name} hello ${n} ${'x'.repeat(n % 200)}`);
            sent++;
          } catch {}
        }
        await sleep(1500 + Math.random() * 1000);
      }
    });
    // Reconnects: every ~3 s one client closes and comes back 1–3 s later.
    const churn = (async () => {
      while (running) {
        await sleep(3000);
        const name = names[Math.floor(Math.random() * names.length)] as string;
        const c = live.get(name);
        if (c === undefined) continue;
        live.delete(name);
        await c.close().catch(() => {});
        await sleep(1000 + Math.random() * 2000);
        if (!running) break;
        const again = await openClient({ home: join(dir, `home-${name}`), maxBackoffMs: 1000 });
        listen(again);
        await again.connect().catch(() => {});
        live.set(name, again);
        reconnects++;
      }
    })();

    const samples: Sample[] = [];
    const t0 = Date.now();
    while (Date.now() < endAt) {
      await sleep(Math.min(10_000, Math.max(0, endAt - Date.now())));
      const s: Sample = {
        name: 'soak-sample',
        t: Math.round((Date.now() - t0) / 1000),
        rssMiB: mib(rssOf(pid)),
        heapMiB: ((h) => (h === undefined ? undefined : mib(h)))(await heapOf(server.url)),
        fds: fdsOf(pid),
        sent,
        received,
        reconnects,
      };
      samples.push(s);
      o.onSample?.(s);
    }
    running = false;
    await Promise.all([...loops, churn]);
    const fdsUnderLoad = Math.max(...samples.map((s) => s.fds));
    for (const c of live.values()) await c.close().catch(() => {});
    live.clear();
    // The clients have left: the server's open files should come back to where they started.
    let fdsAfterLeave = fdsOf(pid);
    for (let i = 0; i < 30 && fdsAfterLeave > fdsBaseline; i++) {
      await sleep(1000);
      fdsAfterLeave = fdsOf(pid);
    }

    const warmupS = o.minutes >= 5 ? Math.max(60, o.minutes * 12) : Math.round(o.minutes * 12);
    const after = samples.filter((s) => s.t >= warmupS);
    const first = after.slice(0, 3);
    const last = after.slice(-3);
    const rssStart = mean(first.map((s) => s.rssMiB));
    const rssEnd = mean(last.map((s) => s.rssMiB));
    const heaps = (xs: Sample[]) => xs.map((s) => s.heapMiB).filter((h): h is number => h !== undefined);
    const heapStart = heaps(first).length ? mean(heaps(first)) : undefined;
    const heapEnd = heaps(last).length ? mean(heaps(last)) : undefined;
    const pct = (a: number, b: number) => Math.round(((b - a) / a) * 1000) / 10;
    return {
      name: 'soak',
      minutes: o.minutes,
      clients: o.clients,
      sent,
      received,
      reconnects,
      warmupS,
      rssStartMiB: Math.round(rssStart * 10) / 10,
      rssEndMiB: Math.round(rssEnd * 10) / 10,
      rssGrowthPct: pct(rssStart, rssEnd),
      heapStartMiB: heapStart === undefined ? undefined : Math.round(heapStart * 10) / 10,
      heapEndMiB: heapEnd === undefined ? undefined : Math.round(heapEnd * 10) / 10,
      heapGrowthPct: heapStart === undefined || heapEnd === undefined ? undefined : pct(heapStart, heapEnd),
      fdsBaseline,
      fdsUnderLoad,
      fdsAfterLeave,
      fdsBackToBaseline: fdsAfterLeave <= fdsBaseline,
    };
  } finally {
    for (const c of live.values()) await c.close().catch(() => {});
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
