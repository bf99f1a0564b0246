import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, parley, startServer } from './helpers/cli.ts';

describe('the parley command, driven as a subprocess', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cli-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help explains every command and flag', () => {
    const r = parley(['--help']);
    assert.equal(r.status, 0);
    for (const word of [
      'serve',
      'register',
      'send',
      'receive',
      'chat',
      'verify',
      '--invite-only',
      '--wait',
      '--json',
      '--accept',
      '--timeout',
      '3 queued',
    ]) {
      assert.ok(r.stdout.includes(word), word);
    }
  });

  it('register, send and receive between two homes; --json gives JSON lines', () => {
    assert.equal(parley(['register', 'ann', '--server', url, '--home', home('ann')]).status, 0);
    assert.equal(parley(['register', 'ben', '--server', url, '--home', home('ben')]).status, 0);
    const s = parley(['send', 'ben', 'hi ben, from the cli', '--home', home('ann')]);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(parley(['send', 'ben', 'second line', '--home', home('ann')]).status, 0);
    const r = parley(['receive', '--home', home('ben')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ann: hi ben, from the cli\nann: second line\n');
    // Delivered once: a second receive prints nothing.
    assert.equal(parley(['receive', '--home', home('ben')]).stdout, '');
    assert.equal(parley(['send', 'ann', 'reply', '--home', home('ben')]).status, 0);
    const j = parley(['receive', '--json', '--home', home('ann')]);
    const line = JSON.parse(j.stdout.trim());
    assert.equal(line.from, 'ben');
    assert.equal(line.text, 'reply');
  });

  it('a copy of a home and the home itself, run in turn, are each told the key is in use elsewhere', () => {
    assert.equal(parley(['register', 'cyd', '--server', url, '--home', home('cyd')]).status, 0);
    cpSync(home('cyd'), home('cyd-copy'), { recursive: true });
    const first = parley(['receive', '--home', home('cyd')]);
    assert.equal(first.status, 0, first.stderr);
    assert.ok(!first.stderr.includes('in use elsewhere'), first.stderr);
    const copy = parley(['receive', '--home', home('cyd-copy')]);
    assert.equal(copy.status, 0, copy.stderr);
    assert.match(copy.stderr, /this device's key is in use elsewhere/);
    const back = parley(['receive', '--home', home('cyd')]);
    assert.equal(back.status, 0, back.stderr);
    assert.match(back.stderr, /this device's key is in use elsewhere/);
  });

  it('chat sends each typed line', () => {
    assert.equal(parley(['register', 'cat', '--server', url, '--home', home('cat')]).status, 0);
    const c = parley(['chat', 'ann', '--home', home('cat')], 'line one\nline two\n');
    assert.equal(c.status, 0, c.stderr);
    assert.ok(c.stdout.includes('chatting with ann'));
    assert.equal(parley(['receive', '--home', home('ann')]).stdout, 'cat: line one\ncat: line two\n');
  });

  it('verify shows the same 60 digits on both sides, and --accept DIGITS marks verified', () => {
    const a = parley(['verify', 'ben', '--home', home('ann')]);
    const b = parley(['verify', 'ann', '--home', home('ben')]);
    const digits = (out: string) => (out.match(/^ {4}(\d{5} ){3}\d{5}$/gm) ?? []).join('').replace(/\s/g, '');
    assert.equal(digits(a.stdout).length, 60);
    assert.equal(digits(a.stdout), digits(b.stdout));
    assert.ok(
      parley(['verify', 'ben', '--accept', digits(a.stdout), '--home', home('ann')]).stdout.includes('marked verified'),
    );
    assert.ok(parley(['verify', 'ben', '--home', home('ann')]).stdout.includes('ben is verified'));
  });

  it('exit codes a script can act on', () => {
    assert.equal(parley(['send', 'nobody-here', 'x', '--home', home('ann')]).status, 5);
    assert.equal(parley(['send', 'ann', 'x', '--home', home('nobody')]).status, 6);
    const taken = parley(['register', 'ann', '--server', url, '--home', home('ann2')]);
    assert.equal(taken.status, 1);
    assert.match(taken.stderr, /the name ann is taken/);
    // The refused name leaves nothing behind: the same home registers another name at once.
    assert.equal(parley(['register', 'ann-two', '--server', url, '--home', home('ann2')]).status, 0);
    assert.equal(parley(['register', 'Bad Name', '--server', url, '--home', home('x')]).status, 2);
    const lookalike = parley(['register', 'ann.', '--server', url, '--home', home('lookalike')]);
    assert.equal(lookalike.status, 1);
    assert.match(
      lookalike.stderr,
      /the name ann\. is refused .*looks like an existing account's name \(names are the same when/,
    );
    assert.equal(parley(['frobnicate']).status, 2);
    // Nothing listens there: refused at once, exit 7 (3 is only ever "queued").
    const down = parley(['register', 'dee', '--server', 'http://127.0.0.1:9', '--home', home('dee')]);
    assert.equal(down.status, 7);
    assert.match(down.stderr, /cannot reach/);
    assert.equal(parley(['receive', '--timeout', 'soon', '--home', home('ann')]).status, 2);
  });

  it('link: a new device joins with the code, then devices lists it, and it receives', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'link', '--server', url, '--name', 'ann-laptop', '--home', home('ann-laptop')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    const code = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (d) => {
        out += String(d);
        const m = /type this code when asked:\n\n {4}(\S+)\n/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error(`link exited: ${out}`)));
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    const wrong = parley(['link', 'accept', `${code.slice(0, -2)}AA`, '--home', home('ann')]);
    assert.notEqual(wrong.status, 0, `code ${code}: ${wrong.stdout}${wrong.stderr}`);
    assert.match(wrong.stderr, /code/);
    const ok = parley(['link', 'accept', code, '--home', home('ann')]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(await exited, 0);
    assert.match(out, /this is device 2 of ann/);
    const list = parley(['devices', '--home', home('ann')]);
    assert.match(list.stdout, /^1 .*\(this device\)$/m);
    assert.match(list.stdout, /^2 {2}ann-laptop$/m);
    const sent = parley(['send', 'ann', 'to both of ann', '--home', home('ben')]);
    assert.equal(sent.status, 0, sent.stderr);
    assert.equal(parley(['receive', '--home', home('ann-laptop')]).stdout, 'ben: to both of ann\n');
    assert.equal(parley(['receive', '--home', home('ann')]).stdout, 'ben: to both of ann\n');
    const removed = parley(['devices', 'remove', '2', '--home', home('ann')]);
    assert.equal(removed.status, 0, removed.stderr);
    assert.doesNotMatch(parley(['devices', '--home', home('ann')]).stdout, /ann-laptop/);
  });

  it('groups: create, send --group, receive shows group lines, info, remove, non-admins refused', () => {
    for (const n of ['gia', 'gib', 'gic']) {
      assert.equal(parley(['register', n, '--server', url, '--home', home(n)]).status, 0);
    }
    const created = parley(['group', 'create', 'Hikers', '--members', 'gib,gic', '--home', home('gia')]);
    assert.equal(created.status, 0, created.stderr);
    assert.match(created.stdout, /created “Hikers” \[[A-Za-z0-9_-]{22}\]/);
    const sent = parley(['send', '--group', 'Hikers', 'summit at noon', '--home', home('gia')]);
    assert.equal(sent.status, 0, sent.stderr);
    const got = parley(['receive', '--home', home('gib')]);
    assert.equal(got.status, 0, got.stderr);
    assert.match(got.stdout, /\[Hikers\] gia: summit at noon/);
    const json = parley(['receive', '--json', '--home', home('gic')]);
    const line = json.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((m) => m.text === 'summit at noon');
    assert.equal(line?.from, 'gia');
    assert.match(line?.group ?? '', /^[A-Za-z0-9_-]{22}$/);
    const info = parley(['group', 'info', 'Hikers', '--home', home('gib')]);
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /gia \(admin\)/);
    assert.match(info.stdout, /gic/);
    const refused = parley(['group', 'remove', 'Hikers', 'gia', '--home', home('gib')]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /only the group’s admins/);
    assert.equal(parley(['group', 'remove', 'Hikers', 'gic', '--home', home('gia')]).status, 0);
    const after = parley(['group', 'info', 'Hikers', '--home', home('gib')]);
    assert.doesNotMatch(after.stdout, /gic/);
    assert.equal(parley(['group', 'bogus', '--home', home('gia')]).status, 2);
  });
});
