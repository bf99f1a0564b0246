/**
 * Memory the server must bound (issue 24): one account that reconnects rapidly without reading a
 * deep queue must not make the server buffer deliveries without limit. A real server process is
 * measured (VmRSS from /proc) while another user's send and receive keeps working.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { authSignedBytes, toBase64Url } from '@parley/protocol';
import { startServer } from '@parley/server';
import { exited, startChild } from './helpers/child-server.ts';
import { authRaw, challenge, openRaw, provider, random, registerRaw, sendArgs } from './helpers/raw-device.ts';

const dir = mkdtempSync(join(tmpdir(), 'parley-reconnect-mem-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const rssMiB = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
};

/** Growth over the RSS after filling the queue (unbounded, 30 reconnects added about 1 GiB). */
const GROWTH_BOUND_MIB = 200;
const RECONNECTS = 30;
const MESSAGES = 2000;
const BODY_BYTES = 64 * 1024;

describe('reconnecting without reading', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  it("one account's rapid reconnects without reading keep the server's RSS bounded; others still relay", async () => {
    const { child, url } = await startChild(0, join(dir, 'data'), [], {
      sendRate: 100_000,
      sendBurst: 100_000,
      frameRate: 100_000,
      frameBurst: 100_000,
      // The reconnect limit is what a real deployment adds; this test shows the buffering is bounded even without it.
      reconnectRatePerDevice: 1000,
      reconnectBurstPerDevice: 1000,
      // One sender fills bob's queue here: the fair share (issue 19) would stop it at 10%.
      queueSenderSharePercent: 100,
    });
    const pid = child.pid as number;
    try {
      const alice = await registerRaw(url, 'alice');
      const bob = await registerRaw(url, 'bob');
      const carol = await registerRaw(url, 'carol');
      bob.conn.close();
      await bob.conn.closed();
      // Fill bob's queue: 2,000 × 64 KiB.
      const body = random(BODY_BYTES);
      for (let i = 0; i < MESSAGES; i += 50) {
        const rs = await Promise.all(
          Array.from({ length: Math.min(50, MESSAGES - i) }, () => alice.conn.request('send', sendArgs('bob', body))),
        );
        for (const r of rs) assert.equal(r.type, 'response', JSON.stringify(r));
      }
      const baseline = rssMiB(pid);
      let peak = baseline;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMiB(pid));
      }, 25);
      // Bob reconnects 30 times, 100 ms apart, and never reads after the handshake.
      const held: { ws: { terminate(): void } }[] = [];
      const storm = (async () => {
        for (let i = 0; i < RECONNECTS; i++) {
          const c = await authRaw(url, 'bob', bob.identity);
          (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
          held.push(c);
          await sleep(100);
        }
      })();
      // Meanwhile alice and carol talk.
      await sleep(1000);
      const sent = await alice.conn.request('send', sendArgs('carol', random(100), 'during-the-storm'));
      assert.equal(sent.type, 'response');
      const got = await carol.conn.next((f) => f.type === 'deliver' && f.messageId === 'during-the-storm', 30_000);
      assert.equal(got.type, 'deliver');
      await storm;
      await sleep(500);
      clearInterval(sampler);
      peak = Math.max(peak, rssMiB(pid));
      for (const c of held) c.ws.terminate();
      console.log(
        `server RSS: ${baseline.toFixed(0)} MiB after filling, peak ${peak.toFixed(0)} MiB during ${held.length} reconnects`,
      );
      assert.ok(
        peak - baseline < GROWTH_BOUND_MIB,
        `server RSS grew by ${(peak - baseline).toFixed(0)} MiB to ${peak.toFixed(0)} MiB (bound: ${GROWTH_BOUND_MIB} MiB growth)`,
      );
      alice.conn.close();
      carol.conn.close();
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
  });
});

describe('reconnect limit', () => {
  it('a device past its reconnect burst gets RATE_LIMITED on auth, with a retry hint', async () => {
    const server = await startServer({
      port: 0,
      dataDir: join(dir, 'limit'),
      logLevel: 'silent',
      limits: { reconnectRatePerDevice: 0.001, reconnectBurstPerDevice: 3 },
    });
    try {
      const dave = await registerRaw(server.url, 'dave'); // the registration is its first connection
      for (let i = 0; i < 2; i++) (await authRaw(server.url, 'dave', dave.identity)).close();
      const c = await openRaw(server.url);
      const nonce = await challenge(c);
      const signature = await provider.ed25519Sign(dave.identity.signingPrivateKey, authSignedBytes(nonce, 'dave', 1));
      const r = await c.request('auth', { name: 'dave', device: 1, signature: toBase64Url(signature) });
      assert.equal(r.code, 'RATE_LIMITED');
      assert.ok(((r.details as { retryAfterMs: number }).retryAfterMs ?? 0) > 0);
      c.close();
      dave.conn.close();
    } finally {
      await server.close();
    }
  });
});
