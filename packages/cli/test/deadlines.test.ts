/**
 * No command hangs, none lies: `parley` driven as a subprocess through a proxy that drops
 * frames and resets connections. Each command ends done (0), queued (3, and the output says
 * so) or failed with a reason, within its --timeout.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ParleyClient, registerAccount, startLink } from '@parley/client';
import { type RunningServer, startServer } from '@parley/server';
import {
  answersTo,
  type FaultProxy,
  firstFrames,
  isRequest,
  startFaultProxy,
} from '../../client/test/helpers/fault-proxy.ts';
import { parleyAsync as parley } from './helpers/cli.ts';

describe('deadlines: every command that talks to a server ends, and says how', () => {
  let dir: string;
  let server: RunningServer;
  let proxy: FaultProxy;
  const home = (n: string) => join(dir, n);
  const clients: ParleyClient[] = [];
  /** Registers `name` (home `home(name)`) through the proxy with the SDK, and closes it. */
  const account = async (name: string): Promise<void> => {
    const c = await registerAccount({ home: home(name), name, server: proxy.url });
    await c.close();
  };
  const lines = (out: string) => out.split('\n').filter((l) => l.length > 0);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-deadlines-'));
    server = await startServer({ port: 0, dataDir: join(dir, 'srv'), logLevel: 'silent' });
    proxy = await startFaultProxy(() => server.url);
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => {});
    await proxy.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('send whose answer is lost on a live connection: retried, exits 0 "sent"', async () => {
    await account('da-ann');
    await account('da-ben');
    proxy.setRule(answersTo('send', 1, 'drop'));
    const r = await parley(['send', 'da-ben', 'answer lost once', '--home', home('da-ann'), '--timeout', '10'], 30_000);
    proxy.heal();
    assert.equal(r.status, 0, `status ${r.status} after ${r.ms} ms; stderr: ${r.stderr}`);
    assert.match(r.stdout, /sent to da-ben/);
    const got = await parley(['receive', '--home', home('da-ben')]);
    assert.deepEqual(lines(got.stdout), ['da-ann: answer lost once']);
  });

  it('send whose connection is reset mid-send: reconnects within --timeout and exits 0 "sent"', async () => {
    await account('dc-ann');
    await account('dc-ben');
    proxy.setRule(firstFrames(1, isRequest('send'), 'reset'));
    const r = await parley(['send', 'dc-ben', 'reset once', '--home', home('dc-ann'), '--timeout', '10'], 30_000);
    proxy.heal();
    assert.equal(r.status, 0, `status ${r.status}; stdout: ${JSON.stringify(r.stdout)} stderr: ${r.stderr}`);
    assert.match(r.stdout, /sent to dc-ben/);
    const got = await parley(['receive', '--home', home('dc-ben')]);
    assert.deepEqual(lines(got.stdout), ['dc-ann: reset once']);
  });

  it('send that cannot get through before --timeout: exit 3, says queued, and it arrives once later', async () => {
    await account('dq-ann');
    await account('dq-ben');
    // Every connection is reset as the send goes out; the network never heals during the command.
    proxy.setRule((f) => (isRequest('send')(f) ? 'reset' : 'pass'));
    const r = await parley(['send', 'dq-ben', 'queued one', '--home', home('dq-ann'), '--timeout', '3'], 30_000);
    proxy.heal();
    assert.equal(r.status, 3, `status ${r.status}; stdout: ${JSON.stringify(r.stdout)} stderr: ${r.stderr}`);
    assert.match(r.stderr, /queued/);
    // --timeout 3 plus the 5 s grace; the rest is starting Node and tsx, which takes seconds on a loaded machine.
    assert.ok(r.ms < 25_000, `took ${r.ms} ms`);
    // The next command that connects sends it; the server keeps it once.
    const flush = await parley(['receive', '--home', home('dq-ann')]);
    assert.equal(flush.status, 0, flush.stderr);
    const got = await parley(['receive', '--home', home('dq-ben')]);
    assert.deepEqual(lines(got.stdout), ['dq-ann: queued one']);
  });

  it('receive whose connection drops mid-backlog: prints all 100 waiting messages, once each', async () => {
    await account('db-ben');
    const ann = await registerAccount({ home: home('db-ann'), name: 'db-ann', server: server.url });
    clients.push(ann);
    const texts = Array.from({ length: 100 }, (_, i) => `backlog ${i}`);
    for (const t of texts) await ann.send('db-ben', t);
    await ann.idle();
    // The receiver's first connection is reset after its tenth delivery.
    let delivered = 0;
    proxy.setRule((f) => {
      if (f.toServer || !f.data.startsWith('{"type":"deliver"')) return 'pass';
      delivered++;
      return delivered === 10 ? 'reset' : 'pass';
    });
    const r = await parley(['receive', '--home', home('db-ben'), '--timeout', '20'], 60_000);
    proxy.heal();
    assert.equal(r.status, 0, `status ${r.status}; stderr: ${r.stderr}`);
    assert.deepEqual(
      lines(r.stdout),
      texts.map((t) => `db-ann: ${t}`),
    );
    assert.equal((await parley(['receive', '--home', home('db-ben')])).stdout, '');
  });
  it('register whose answers are lost: exit 7 saying to run it again; run again, it finishes with the same keys', async () => {
    proxy.setRule(answersTo('register', 1_000, 'drop'));
    const args = ['register', 'dr-ann', '--server', proxy.url, '--home', home('dr-ann')];
    const first = await parley([...args, '--timeout', '3'], 30_000);
    proxy.heal();
    assert.equal(first.status, 7, `status ${first.status}; stderr: ${first.stderr}`);
    assert.match(first.stderr, /run the same command again/);
    const again = await parley(args);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /registered dr-ann/);
    // The keys are the ones the server took the first time: this home can now send and receive.
    await account('dr-ben');
    assert.equal((await parley(['send', 'dr-ann', 'welcome', '--home', home('dr-ben')])).status, 0);
    assert.deepEqual(lines((await parley(['receive', '--home', home('dr-ann')])).stdout), ['dr-ben: welcome']);
  });

  it('a server that accepts connections and never answers: receive fails with exit 7 within --timeout', async () => {
    await account('dh-ann');
    proxy.setAccept('hang');
    const r = await parley(['receive', '--home', home('dh-ann'), '--timeout', '2'], 30_000);
    proxy.heal();
    assert.equal(r.status, 7, `status ${r.status}; stderr: ${r.stderr}`);
    assert.match(r.stderr, /cannot reach/);
    assert.equal(r.stdout, '');
  });
  it('link on a new device, to a server that accepts connections and never answers: exit 7 within --timeout, no code shown', async () => {
    proxy.setAccept('hang');
    const r = await parley(
      ['link', '--name', 'laptop', '--server', proxy.url, '--home', home('dl-new'), '--timeout', '2'],
      30_000,
    );
    proxy.heal();
    assert.equal(r.status, 7, `status ${r.status}; stderr: ${r.stderr}`);
    assert.match(r.stderr, /cannot reach the server at .*no connection before the deadline/);
    assert.equal(r.stdout, '', 'no link code is shown for a channel that was never opened');
  });
  it('link on a new device when the server has too many link channels open: exit 1 saying so, not "in use"', async () => {
    const full = await startServer({
      port: 0,
      dataDir: join(dir, 'srv-full'),
      logLevel: 'silent',
      limits: { maxLinkChannels: 1 },
    });
    try {
      // Another new device holds the one channel this server allows.
      const other = await startLink({ home: home('dc-other'), server: full.url, deviceName: 'other' });
      const ended = other.done.catch(() => {}); // cancelled below: it ends unlinked
      const r = await parley(['link', '--name', 'laptop', '--server', full.url, '--home', home('dc-new')], 30_000);
      other.cancel();
      await ended;
      assert.equal(r.status, 1, `status ${r.status}; stderr: ${r.stderr}`);
      assert.match(r.stderr, /too many link channels are open on this server; try again later/);
      assert.doesNotMatch(r.stderr, /in use/);
      assert.equal(r.stdout, '');
    } finally {
      await full.close();
    }
  });
  it('send --group that cannot get through before --timeout: exit 3, says queued, and it arrives once later', async () => {
    await account('dg-ben');
    const ann = await registerAccount({ home: home('dg-ann'), name: 'dg-ann', server: proxy.url });
    await ann.createGroup('Summit', ['dg-ben']);
    await ann.close();
    proxy.setRule((f) => (isRequest('group-send')(f) ? 'reset' : 'pass'));
    const r = await parley([
      'send',
      '--group',
      'Summit',
      'see you up there',
      '--home',
      home('dg-ann'),
      '--timeout',
      '3',
    ]);
    proxy.heal();
    assert.equal(r.status, 3, `status ${r.status}; stdout: ${JSON.stringify(r.stdout)} stderr: ${r.stderr}`);
    assert.match(r.stderr, /queued/);
    assert.equal((await parley(['receive', '--home', home('dg-ann')])).status, 0);
    const got = await parley(['receive', '--home', home('dg-ben')]);
    assert.deepEqual(
      lines(got.stdout).filter((l) => !l.includes('--')),
      ['[Summit] dg-ann: see you up there'],
    );
  });
});
