/**
 * Open-file exhaustion must be said (issue 24): a server started with `ulimit -n 256` is sent more
 * connections than it has descriptors. libuv closes the ones it cannot accept without telling
 * Node.js; the server must log the condition (once), show it in a metric, answer `/healthz` 503
 * while it lasts (asked over a connection opened before), and print its limit at start.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { exited } from './helpers/child-server.ts';

const SCRIPT = new URL('./helpers/server-process.ts', import.meta.url).pathname;

function request(agent: Agent, url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { agent }, (res) => {
      let body = '';
      res.on('data', (d) => {
        body += String(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const logLines = (file: string): { level: number; msg: string; [k: string]: unknown }[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l))
    : [];

describe('open-file exhaustion', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-fd-'));
  let child: ChildProcess | undefined;
  const sockets: Socket[] = [];
  after(async () => {
    for (const s of sockets) s.destroy();
    child?.kill('SIGKILL');
    if (child !== undefined) await exited(child);
    rmSync(dir, { recursive: true, force: true });
  });

  it('is logged once, counted, reported by /healthz while it lasts, and the limit is printed at start', async () => {
    const logFile = join(dir, 'server.log');
    const limits = { maxUnauthenticatedPerSource: 1000, handshakeTimeoutMs: 60_000 };
    const started = spawn(
      'bash',
      [
        '-c',
        `ulimit -n 256; exec "${process.execPath}" --import tsx --conditions=source "${SCRIPT}" 0 "${join(dir, 'data')}"`,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, PARLEY_TEST_LIMITS: JSON.stringify(limits), PARLEY_TEST_LOG_FILE: logFile },
      },
    );
    child = started;
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      started.stdout?.on('data', (d) => {
        out += String(d);
        const m = /listening (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      started.once('exit', (code) => reject(new Error(`server exited early (${code})`)));
    });
    const listening = logLines(logFile).find((l) => l.msg === 'parley relay listening');
    assert.equal(listening?.openFileLimit, 256, 'the open-file limit is printed at start');

    // One kept-alive connection, opened while descriptors are left, to ask /healthz and /metrics.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await request(agent, `${url}/healthz`)).status, 200);
    const { port } = new URL(url);
    for (let i = 0; i < 1000; i++) {
      const s = connect(Number(port), '127.0.0.1');
      s.on('error', () => {});
      sockets.push(s);
    }
    const degraded = await until('/healthz 503', async () => {
      const r = await request(agent, `${url}/healthz`);
      return r.status === 503 ? r : undefined;
    });
    assert.deepEqual(JSON.parse(degraded.body), { status: 'degraded', reasons: ['open-files-exhausted'] });
    const metrics = await request(agent, `${url}/metrics`);
    assert.match(metrics.body, /^parley_open_files_exhausted 1$/m);
    assert.match(metrics.body, /^parley_open_files_exhausted_checks_total [1-9]/m);

    for (const s of sockets.splice(0)) s.destroy();
    await until('/healthz 200', async () =>
      (await request(agent, `${url}/healthz`)).status === 200 ? true : undefined,
    );
    agent.destroy();
    const lines = logLines(logFile);
    assert.equal(lines.filter((l) => /open-file limit reached/.test(l.msg)).length, 1, 'logged once, not per refusal');
    assert.equal(lines.filter((l) => l.msg === 'open files below the limit again').length, 1);
  });
});
