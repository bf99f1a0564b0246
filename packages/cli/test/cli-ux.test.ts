/**
 * The terminal client's everyday use (issue 23, "Terminal client"): per-command help, readable
 * flag errors, what chat shows, receive on a terminal, colour only on a terminal, the first
 * device's name, and the read-receipts setting.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openClient } from '@parley/client';
import { BIN, parley, startServer } from './helpers/cli.ts';

/** Runs parley with its standard output on a pseudo-terminal (util-linux `script`). */
function parleyOnTerminal(args: string[]): { status: number | null; stdout: string } {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', `${command} </dev/null`, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout.replace(/\r\n/g, '\n') };
}

describe('parley in a terminal: help, errors and chat', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-ux-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
    for (const n of ['amy', 'bob']) {
      const r = parley(['register', n, '--server', url, '--home', home(n)]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('parley CMD --help prints that command only; parley --version prints the version', () => {
    const h = parley(['send', '--help']);
    assert.equal(h.status, 0);
    assert.match(h.stdout, /^Usage:\n {2}parley send NAME/);
    assert.ok(h.stdout.includes('--accept-change'));
    assert.ok(!h.stdout.includes('parley receive'), h.stdout);
    assert.ok(!h.stdout.includes('parley serve'), h.stdout);
    assert.deepEqual(parley(['help', 'send']).stdout, h.stdout);
    assert.match(parley(['config', '--help']).stdout, /parley config read-receipts \[on\|off\]/);
    assert.match(parley(['--version']).stdout, /^parley \d+\.\d+\.\d+\n$/);
  });

  it('an unknown flag or a missing value is said plainly (exit 2)', () => {
    const u = parley(['chat', 'bob', '--colour', '--home', home('amy')]);
    assert.equal(u.status, 2);
    assert.equal(u.stderr, 'parley: unknown flag --colour\n        Run `parley chat --help` for usage.\n');
    const m = parley(['receive', '--home']);
    assert.equal(m.status, 2);
    assert.match(m.stderr, /^parley: --home needs a value/);
  });

  it('chat shows each line typed, marked sent; empty lines are not sent', () => {
    const c = parley(['chat', 'bob', '--home', home('amy')], 'first line\n\n   \nsecond line\n');
    assert.equal(c.status, 0, c.stderr);
    assert.match(c.stdout, /^you: first line$/m);
    assert.match(c.stdout, /^-- sent: first line --$/m);
    assert.match(c.stdout, /^-- sent: second line --$/m);
    assert.equal(parley(['receive', '--home', home('bob')]).stdout, 'amy: first line\namy: second line\n');
  });

  it('chat with an unknown account exits 5 and says why', () => {
    const c = parley(['chat', 'nobody-at-all', '--home', home('amy')], 'hello\n');
    assert.equal(c.status, 5, c.stdout);
    assert.match(c.stderr, /no account named nobody-at-all/);
    assert.ok(!c.stdout.includes('chatting with'), c.stdout);
  });

  it('messages waiting when chat starts are printed once', () => {
    assert.equal(parley(['send', 'amy', 'waiting for you', '--home', home('bob')]).status, 0);
    const c = parley(['chat', 'bob', '--home', home('amy')], '');
    assert.equal(c.status, 0, c.stderr);
    assert.equal(c.stdout.split('bob: waiting for you').length - 1, 1, c.stdout);
  });

  it('receive says "no new messages" on a terminal only; no colour codes when not a terminal', () => {
    const t = parleyOnTerminal(['receive', '--home', home('amy')]);
    assert.equal(t.status, 0, t.stdout);
    assert.equal(t.stdout, 'no new messages\n');
    assert.equal(parley(['receive', '--home', home('amy')]).stdout, '');
    const v = parley(['verify', 'bob', '--home', home('amy')]);
    assert.equal(v.status, 0, v.stderr);
    assert.ok(!v.stdout.includes('\x1b'), JSON.stringify(v.stdout.slice(0, 200)));
    assert.ok(v.stdout.includes('█'));
    // On a terminal the QR code is drawn black on white.
    assert.ok(parleyOnTerminal(['verify', 'bob', '--home', home('amy')]).stdout.includes('\x1b[47m'));
  });

  it('verify --accept does not print the QR code again', () => {
    const v = parley(['verify', 'bob', '--home', home('amy')]);
    const digits = (v.stdout.match(/^ {4}(\d{5} ){3}\d{5}$/gm) ?? []).join('').replace(/\s/g, '');
    const a = parley(['verify', 'bob', '--accept', digits, '--home', home('amy')]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(a.stdout, 'bob is now marked verified.\n');
  });

  it('the first device has a name: --device-name, else the host name; devices shows it', () => {
    assert.equal(
      parley(['register', 'cyd', '--server', url, '--device-name', 'cyd-desk', '--home', home('cyd')]).status,
      0,
    );
    assert.match(parley(['devices', '--home', home('cyd')]).stdout, /^1 {2}cyd-desk {2}\(this device\)/m);
    assert.ok(!parley(['devices', '--home', home('amy')]).stdout.includes('(unnamed)'));
  });

  it('read receipts: on by default, `config read-receipts off` stops them; receive sends them for what it prints', async () => {
    assert.equal(parley(['config', 'read-receipts', '--home', home('bob')]).stdout, 'read-receipts: on\n');
    const sent = parley(['send', 'bob', 'please read', '--home', home('amy')]);
    assert.equal(sent.status, 0, sent.stderr);
    assert.equal(parley(['receive', '--home', home('bob')]).stdout, 'amy: please read\n');
    // amy takes the receipts, then her history says read.
    parley(['receive', '--home', home('amy')]);
    const status = async (who: string, text: string) => {
      const c = await openClient({ home: home(who) });
      try {
        return c.history('bob').find((m) => m.text === text)?.status;
      } finally {
        await c.close();
      }
    };
    assert.equal(await status('amy', 'please read'), 'read');
    assert.equal(
      parley(['config', 'read-receipts', 'off', '--home', home('bob')]).stdout,
      'read-receipts: off (saved)\n',
    );
    const c = await openClient({ home: home('bob') });
    assert.equal(c.readReceipts(), false);
    await c.close();
    assert.equal(parley(['send', 'bob', 'unseen', '--home', home('amy')]).status, 0);
    assert.equal(parley(['receive', '--home', home('bob')]).stdout, 'amy: unseen\n');
    parley(['receive', '--home', home('amy')]);
    assert.equal(await status('amy', 'unseen'), 'sent');
    assert.equal(parley(['config', 'read-receipts', 'maybe', '--home', home('bob')]).status, 2);
  });
});

describe('parley chat when the server goes away', () => {
  it('says the connection was lost once, and marks lines typed meanwhile as waiting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-ux-down-'));
    const server = spawn(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--data', join(dir, 'srv'), '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let chatProcess: ChildProcess | undefined;
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        server.stdout?.on('data', (d) => {
          out += String(d);
          const m = /running at (http:\/\/\S+)/.exec(out);
          if (m?.[1]) resolve(m[1]);
        });
        server.once('exit', () => reject(new Error(`server exited: ${out}`)));
      });
      for (const n of ['dee', 'eve']) {
        const r = parley(['register', n, '--server', url, '--home', join(dir, n)]);
        assert.equal(r.status, 0, r.stderr);
      }
      const chat = spawn(process.execPath, [BIN, 'chat', 'eve', '--home', join(dir, 'dee')], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      chatProcess = chat;
      let out = '';
      const waiters: { re: RegExp; resolve: () => void }[] = [];
      chat.stdout?.on('data', (d) => {
        out += String(d);
        for (const w of waiters.filter((x) => x.re.test(out))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      });
      const seen = (re: RegExp) =>
        new Promise<void>((resolve) => (re.test(out) ? resolve() : waiters.push({ re, resolve })));
      await seen(/chatting with eve/);
      const stopped = new Promise((r) => server.once('exit', r));
      server.kill('SIGKILL');
      await stopped;
      await seen(/connection lost/);
      chat.stdin?.write('typed while offline\n');
      await seen(/^-- waiting \(not connected; it goes out when the connection is back\): typed while offline --$/m);
      chat.stdin?.write('and another\n');
      await seen(/waiting .*: and another --$/m);
      assert.match(out, /^you: typed while offline$/m);
      // The link retries from 250 ms with doubling backoff, so within 3 s it has failed again
      // several times: each failure is a "disconnected" event, and chat still says it once.
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal(out.split('connection lost').length - 1, 1, out);
    } finally {
      chatProcess?.kill('SIGTERM');
      server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
