/**
 * `parley send` to a recipient whose queue on the server is full (issue 19 item 6): the command
 * says so at once and exits 3 (queued: the message stays in the outbox), instead of waiting in
 * silence until --timeout; the same for a group send to a group with such a member.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { registerAccount } from '@parley/client';
import { type RunningServer, startServer } from '@parley/server';
import { parleyAsync as parley } from './helpers/cli.ts';

describe('parley send to a full queue', () => {
  let dir: string;
  let server: RunningServer;
  const home = (n: string) => join(dir, n);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-qf-cli-'));
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'srv'),
      logLevel: 'silent',
      limits: { maxQueuePerDevice: 2, queueSenderSharePercent: 100 },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // --timeout 120 and killed after 60 s: a command that waits for its timeout is killed and fails.
  it('prints that the queue is full and exits 3 (queued) without waiting for --timeout; group sends too', async () => {
    const ann = await registerAccount({ home: home('ann'), name: 'qf-ann', server: server.url });
    const ben = await registerAccount({ home: home('ben'), name: 'qf-ben', server: server.url });
    await ann.createGroup('Crowd', ['qf-ben']);
    // The welcome waits in ben's queue; ben goes away, one more message fills it.
    await ben.close();
    await ann.sendAndWait('qf-ben', 'fills it');
    await ann.close();

    const r = await parley(['send', 'qf-ben', 'one too many', '--home', home('ann'), '--timeout', '120'], 60_000);
    assert.equal(r.status, 3, `status ${r.status}; stdout: ${r.stdout} stderr: ${r.stderr}`);
    assert.match(r.stderr, /qf-ben’s queue on the server is full/);
    assert.match(r.stderr, /queued/);
    assert.equal(r.stdout, '');

    const g = await parley(['send', '--group', 'Crowd', 'to all', '--home', home('ann'), '--timeout', '120'], 60_000);
    assert.equal(g.status, 3, `status ${g.status}; stdout: ${g.stdout} stderr: ${g.stderr}`);
    assert.match(g.stderr, /a member’s queue on the server is full/);
    assert.match(g.stderr, /queued/);
  });
});
