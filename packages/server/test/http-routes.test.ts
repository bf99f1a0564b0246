import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startServer } from '@parley/server';
import { httpRoutes } from '../src/http-routes.ts';
import { createMetrics } from '../src/metrics.ts';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'parley-routes-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Calls a route handler with a request from `remoteAddress`; resolves with the status and body. */
function call(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  path: string,
  remoteAddress: string,
  authorization?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    let status = 0;
    const req = {
      method: 'GET',
      url: path,
      headers: authorization === undefined ? {} : { authorization },
      socket: { remoteAddress },
    } as unknown as IncomingMessage;
    const res = {
      writeHead(s: number) {
        status = s;
        return res;
      },
      end(body?: string | Buffer) {
        resolve({ status, body: body === undefined ? '' : String(body) });
      },
    } as unknown as ServerResponse;
    handler(req, res);
  });
}

describe('/metrics and /healthz exposure', () => {
  const metrics = createMetrics(
    () => 7,
    async () => 3,
  );
  const TOKEN = 'operator-token-0123456789';
  const routes = (metricsToken: string | undefined) => {
    // connectedCount is what /healthz used to report; it stays available to show it is not read.
    const state = {
      web: undefined,
      metrics,
      serveMetrics: true,
      metricsToken,
      closing: () => false,
      connectedCount: () => 7,
    };
    return httpRoutes(state);
  };

  it('/metrics answers a loopback peer but refuses any other peer when no token is set', async () => {
    assert.equal((await call(routes(undefined), '/metrics', '127.0.0.1')).status, 200);
    assert.equal((await call(routes(undefined), '/metrics', '::ffff:127.0.0.1')).status, 200);
    assert.equal((await call(routes(undefined), '/metrics', '::1')).status, 200);
    const remote = await call(routes(undefined), '/metrics', '192.0.2.9');
    assert.equal(remote.status, 403);
    assert.doesNotMatch(remote.body, /parley_connections/);
    assert.equal((await call(routes(undefined), '/metrics', '::ffff:192.0.2.9')).status, 403);
  });

  it('/metrics answers a non-loopback peer only with the exact bearer token', async () => {
    assert.equal((await call(routes(TOKEN), '/metrics', '192.0.2.9', `Bearer ${TOKEN}`)).status, 200);
    assert.equal((await call(routes(TOKEN), '/metrics', '192.0.2.9', `Bearer ${TOKEN}x`)).status, 403);
    assert.equal((await call(routes(TOKEN), '/metrics', '192.0.2.9', 'Bearer ')).status, 403);
    assert.equal((await call(routes(TOKEN), '/metrics', '192.0.2.9')).status, 403);
  });

  it('/healthz says whether the node is up and carries no counts', async () => {
    const health = await call(routes(undefined), '/healthz', '192.0.2.9');
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
  });

  it('--metrics-listen serves /metrics on its own listener and the main one answers 404', async () => {
    const server = await startServer({
      port: 0,
      dataDir: join(tempDir(), 'data'),
      logLevel: 'silent',
      metricsListen: '127.0.0.1:0',
    });
    try {
      assert.ok(server.metricsUrl !== undefined);
      assert.equal((await fetch(`${server.url}/metrics`)).status, 404);
      const res = await fetch(`${server.metricsUrl}/metrics`);
      assert.equal(res.status, 200);
      assert.match(await res.text(), /^parley_connections /m);
      assert.equal((await fetch(`${server.metricsUrl}/healthz`)).status, 404);
      assert.deepEqual(await (await fetch(`${server.url}/healthz`)).json(), { status: 'ok' });
    } finally {
      await server.close();
    }
  });
});
