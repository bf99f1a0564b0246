/**
 * `parley send` to a server whose storage is full (issue 24): the command says at once that the
 * message is queued and why, and exits 3; it does not wait out its deadline nor call it failed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startServer } from '@parley/server';
import { parleyAsync as parley } from './helpers/cli.ts';

describe('parley send to a server with full storage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-cli-full-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('says the message is queued because the server could not store it, and exits 3', async () => {
    const dataDir = join(dir, 'srv');
    let server = await startServer({ port: 0, dataDir, logLevel: 'silent' });
    const { port, url } = server;
    try {
      for (const name of ['ann', 'ben']) {
        const r = await parley(['register', name, '--server', url, '--home', join(dir, name)]);
        assert.equal(r.status, 0, r.stderr);
      }
      await server.close();
      // Back with its database capped at its present size: the next large write finds it full.
      server = await startServer({ port, dataDir, logLevel: 'silent', sqliteMaxBytes: 1 });
      const s = await parley(['send', 'ben', 'x'.repeat(12_000), '--home', join(dir, 'ann'), '--timeout', '60']);
      assert.equal(s.status, 3, s.stderr);
      assert.match(s.stderr, /the server could not store it \(its storage is full\)/);
      assert.match(s.stderr, /queued in this home's outbox/);
    } finally {
      await server.close();
    }
  });
});
