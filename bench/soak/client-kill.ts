/**
 * A receiving client process SIGKILLed while messages stream in (so, at some kills, between
 * taking a delivery from the link and storing it, or between storing it and acknowledging it):
 * afterwards its home holds every acknowledged message exactly once, in order, and no message was
 * shown twice across the process's lives.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClientEvent, openClient, registerAccount } from '@parley/client';
import { exited, freePort, ServerProcess, spawnTs, waitForLine } from './processes.ts';

const RECEIVER = new URL('./receiver-child.ts', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface ClientKillSummary {
  readonly name: 'client-kill';
  readonly kills: number;
  /** Kills that came while the process was showing messages (it printed one in the last 300 ms). */
  readonly killedWhileReceiving: number;
  readonly acked: number;
  readonly shown: number;
  readonly stored: number;
  readonly lost: number;
  /** Stored, but its event was not printed before a kill (it is in the history). */
  readonly notShownLive: number;
  readonly duplicated: number;
  readonly outOfOrder: number;
  readonly undecryptable: number;
  readonly seconds: number;
}

export async function runClientKill(o: { kills: number; messages: number }): Promise<ClientKillSummary> {
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'parley-soak-client-'));
  const server = new ServerProcess(await freePort(), join(dir, 'server'));
  let child: ChildProcess | undefined;
  try {
    await server.start();
    const bobHome = join(dir, 'home-bob');
    const bob = await registerAccount({ home: bobHome, name: 'bob', server: server.url, receipts: false });
    await bob.close();
    const alice = await registerAccount({
      home: join(dir, 'home-alice'),
      name: 'alice',
      server: server.url,
      maxBackoffMs: 300,
      receipts: false,
    });
    const acked = new Set<string>();
    const ids: string[] = [];
    const aliceEvents = alice.events();
    void (async () => {
      for await (const e of aliceEvents as AsyncIterable<ClientEvent>) if (e.type === 'sent') acked.add(e.id);
    })();

    const shown: string[] = [];
    let undecryptable = 0;
    let lastShownAt = 0;
    const startReceiver = async () => {
      const c = spawnTs(RECEIVER, [bobHome]);
      let buf = '';
      c.stdout?.on('data', (d) => {
        buf += String(d);
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const l = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (l.startsWith('{')) {
            const v = JSON.parse(l) as { m?: string; u?: string };
            if (v.m !== undefined) {
              shown.push(v.m);
              lastShownAt = Date.now();
            }
            if (v.u !== undefined) undecryptable++;
          }
          nl = buf.indexOf('\n');
        }
      });
      await waitForLine(c, /ready/, 'the receiver');
      return c;
    };

    // Alice sends numbered messages steadily while bob's process is killed and started again.
    let sending = true;
    const sender = (async () => {
      for (let i = 1; i <= o.messages && sending; i++) {
        ids.push((await alice.send('bob', `alice>bob#${i}`)).id);
        await sleep(10);
      }
    })();
    let killedWhileReceiving = 0;
    for (let k = 0; k < o.kills; k++) {
      child = await startReceiver();
      // Kill once messages are flowing, at a random moment.
      const deadline = Date.now() + 10_000;
      while (Date.now() - lastShownAt > 100 && Date.now() < deadline) await sleep(5);
      await sleep(Math.random() * 150);
      if (Date.now() - lastShownAt < 300) killedWhileReceiving++;
      child.kill('SIGKILL');
      await exited(child);
      child = undefined;
    }
    await sender;
    sending = false;
    const end = Date.now() + 60_000;
    while (ids.some((id) => !acked.has(id)) && Date.now() < end) await sleep(100);
    await alice.close();

    // The last life: it shows the rest.
    child = await startReceiver();
    const ackedCount = ids.filter((id) => acked.has(id)).length;
    const end2 = Date.now() + 60_000;
    while (new Set(shown).size < ackedCount && Date.now() < end2) await sleep(100);
    await sleep(1000);
    child.kill('SIGTERM');
    await exited(child);
    child = undefined;

    // What the home stored (what `parley history` shows).
    const bobAgain = await openClient({ home: bobHome, receipts: false });
    const stored = bobAgain
      .history('alice', 1_000_000)
      .filter((m) => m.direction === 'in')
      .map((m) => m.text);
    await bobAgain.close();

    const expected = ids.map((id, i) => ({ id, text: `alice>bob#${i + 1}` })).filter((x) => acked.has(x.id));
    // Lost: not in the home (a message stored just before a kill, whose event the dying process
    // did not print, is in the history: that is where the user finds it). Duplicated: twice in the
    // home, or shown twice over the process's lives.
    let lost = 0;
    let duplicated = 0;
    let notShownLive = 0;
    for (const list of [shown, stored]) {
      const count = new Map<string, number>();
      for (const t of list) count.set(t, (count.get(t) ?? 0) + 1);
      for (const x of expected) {
        const n = count.get(x.text) ?? 0;
        if (n === 0 && list === stored) lost++;
        if (n === 0 && list === shown) notShownLive++;
        if (n > 1) duplicated += n - 1;
      }
    }
    let outOfOrder = 0;
    for (const list of [shown, stored]) {
      let last = 0;
      for (const t of list) {
        const seq = Number(t.split('#')[1]);
        if (seq < last) outOfOrder++;
        last = Math.max(last, seq);
      }
    }
    return {
      name: 'client-kill',
      kills: o.kills,
      killedWhileReceiving,
      acked: expected.length,
      shown: shown.length,
      stored: stored.length,
      lost,
      notShownLive,
      duplicated,
      outOfOrder,
      undecryptable,
      seconds: Math.round((Date.now() - t0) / 1000),
    };
  } finally {
    if (child !== undefined) {
      child.kill('SIGKILL');
      await exited(child);
    }
    await server.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
