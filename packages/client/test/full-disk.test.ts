/**
 * A full disk on the server (issue 24): the real SQLite driver refuses writes with SQLITE_FULL
 * once the database file reaches its cap (`sqliteMaxBytes`, SQLite's `max_page_count`, set to
 * the file's size at start). A send refused then must stay queued and go out once space is freed,
 * the server must say so once (not per request), and `/healthz` must answer 503 meanwhile.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type ClientEvent, openClient } from '@parley/client';
import { startServer } from '@parley/server';
import { createWorld } from './helpers/env.ts';

async function health(url: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}/healthz`);
  return { status: res.status, body: await res.json() };
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a full disk on the server', () => {
  it('keeps a refused send queued, sends it once space is freed, logs once and reports 503', async () => {
    const world = await createWorld();
    const logFile = join(world.dir, 'server.log');
    try {
      const alice = await world.register('alice');
      const bob = await world.register('bob');
      await bob.close();
      // Three large messages wait for bob: the space his acknowledgements will free.
      const big = (n: number) => `${n} ${'x'.repeat(12_000)}`;
      const aliceEvents = alice.events();
      const seen: ClientEvent[] = [];
      void (async () => {
        for await (const e of aliceEvents) seen.push(e);
      })();
      for (const n of [1, 2, 3]) await alice.send('bob', big(n));
      await until('three sends acknowledged', () => seen.filter((e) => e.type === 'sent').length === 3);

      // The server comes back with its database capped at its present size: the disk is "full".
      const port = world.server.port;
      await world.server.close();
      world.server = await startServer({
        port,
        dataDir: world.dataDir,
        logLevel: 'info',
        logFile,
        sqliteMaxBytes: 1,
      });
      await until('alice reconnected', () => alice.isConnected());

      await alice.send('bob', big(4));
      // Refused (and, once the refusal is understood, retried) meanwhile: never failed, never sent.
      await new Promise((r) => setTimeout(r, 2000));
      assert.deepEqual(
        seen.filter((e) => e.type === 'send-failed'),
        [],
        'a send refused for a full disk is not final',
      );
      assert.equal(seen.filter((e) => e.type === 'sent').length, 3);
      assert.deepEqual(await health(world.server.url), {
        status: 503,
        body: { status: 'degraded', reasons: ['storage-full'] },
      });

      // Bob takes his messages; his acknowledgements free their pages, and message 4 goes out.
      const bobAgain = await openClient({ home: world.home('bob'), maxBackoffMs: 200 });
      const texts: string[] = [];
      const inbox = bobAgain.events();
      void (async () => {
        for await (const e of inbox) if (e.type === 'message') texts.push(e.message.text.slice(0, 2));
      })();
      await bobAgain.connect();
      await until('message 4 delivered', () => texts.includes('4 '), 30_000);
      assert.deepEqual(texts, ['1 ', '2 ', '3 ', '4 ']);
      await until('healthz ok again', async () => (await health(world.server.url)).status === 200);
      await bobAgain.close();

      const lines = readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { level: number; msg: string });
      const errors = lines.filter((l) => l.level >= 50);
      assert.equal(errors.length, 1, `one error line for the condition, got ${JSON.stringify(errors)}`);
      assert.match(errors[0]?.msg ?? '', /storage is full/);
      assert.equal(lines.filter((l) => l.msg === 'storage works again').length, 1);
    } finally {
      await world.close();
    }
  });
});
