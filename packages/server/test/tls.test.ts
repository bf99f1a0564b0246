/**
 * The relay over TLS (`tls` option, `parley serve --tls-cert --tls-key`): the per-source limits
 * of issue 19, item 7, still hold when every connection is a TLS socket wrapping a TCP one —
 * a TCP connection that never finishes its TLS handshake holds an unauthenticated slot, and a
 * WSS connection gives its slot back once it registers — and `reloadTls` keeps the working
 * certificate when the new files do not load. The certificate is self-signed, made with openssl.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RELAY_API_VERSION } from '@parley/protocol';
import { type RunningServer, startServer } from '@parley/server';
import WebSocket from 'ws';
import { registrationArgs } from './helpers/raw-device.ts';

/** A self-signed certificate for 127.0.0.1 in `dir`: cert.pem, key.pem. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { cert, key };
}

/** GET `url` trusting `ca`: the status, or the error code when the connection is refused. */
function status(url: string, ca: Buffer): Promise<number | string> {
  return new Promise((resolve) => {
    get(url, { ca, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Registers `name` over a new WSS connection (left open, authenticated); resolves with the answer's type. */
async function registerOverWss(url: string, name: string, ca: Buffer): Promise<{ ws: WebSocket; answer: string }> {
  const ws = new WebSocket(`${url.replace(/^https/, 'wss')}/v1/ws`, { ca });
  const frames: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (d) => {
    frames.push(JSON.parse(String(d)) as Record<string, unknown>);
    wake?.();
  });
  const next = async (type: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const i = frames.findIndex((f) => f.type === type || (type === 'answer' && f.id === 1));
      if (i >= 0) return frames.splice(i, 1)[0] as Record<string, unknown>;
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  };
  const challenge = await next('challenge');
  const nonce = Buffer.from(String(challenge.nonce), 'base64url');
  const { args } = await registrationArgs(name, new Uint8Array(nonce));
  ws.send(JSON.stringify({ v: RELAY_API_VERSION, type: 'request', id: 1, op: 'register', args }));
  const answer = await next('answer');
  return { ws, answer: String(answer.type) };
}

describe('the relay over TLS', () => {
  let dir: string;
  let server: RunningServer;
  let ca: Buffer;
  let files: { cert: string; key: string };
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-tls-server-'));
    files = selfSigned(dir);
    ca = readFileSync(files.cert);
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      tls: files,
      limits: { maxUnauthenticatedPerSource: 2, handshakeTimeoutMs: 1500 },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves https:// and answers /healthz over TLS', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await status(`${server.url}/healthz`, ca), 200);
  });

  it('a WSS connection gives back its unauthenticated slot once it registers', async () => {
    // Three registered connections stay open with a per-source cap of 2: each gave its slot back.
    const open: WebSocket[] = [];
    for (const name of ['tls-ann', 'tls-ben', 'tls-cyd']) {
      const { ws, answer } = await registerOverWss(server.url, name, ca);
      open.push(ws);
      assert.equal(answer, 'response', name);
    }
    assert.equal(await status(`${server.url}/healthz`, ca), 200);
    for (const ws of open) ws.close();
  });

  it('TCP connections that never finish their TLS handshake hold slots, and are closed at the handshake timeout', async () => {
    const port = server.port;
    const silent: Socket[] = [];
    const closed: Promise<void>[] = [];
    for (let i = 0; i < 2; i++) {
      const s = connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      await new Promise<void>((r) => s.once('connect', () => r()));
      silent.push(s);
      closed.push(new Promise<void>((r) => s.once('close', () => r())));
    }
    // The cap of 2 is full: a third connection is closed at once.
    assert.notEqual(await status(`${server.url}/healthz`, ca), 200);
    // The silent ones are closed by the server (the TLS handshake timeout), and the slots come back.
    await Promise.all(closed);
    assert.equal(await status(`${server.url}/healthz`, ca), 200);
  });

  it('reloadTls keeps the working certificate when the new files do not load', async () => {
    writeFileSync(files.cert, 'not a certificate\n');
    assert.equal(server.reloadTls(), false);
    assert.equal(await status(`${server.url}/healthz`, ca), 200);
    writeFileSync(files.cert, ca);
    assert.equal(server.reloadTls(), true);
  });
});
