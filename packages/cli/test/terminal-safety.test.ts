/**
 * Hostile text against the terminal (issue 19, items 9 and 10): message text, group names and
 * device names chosen by someone else must not reach the terminal as control sequences or forge
 * a line that looks like another sender's; and a message or a link code must not have to go on
 * the command line, where /proc/PID/cmdline and shell history keep it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, parley, startServer } from './helpers/cli.ts';

/**
 * Runs `parley args` with its standard input piped; reads the child's /proc/PID/cmdline while it
 * runs (before it is given its input), then writes `input` and waits for the end.
 */
async function parleyWithStdin(
  args: string[],
  input: string,
): Promise<{ status: number | null; stdout: string; stderr: string; cmdline: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').join(' ');
  child.stdin.end(input);
  const status = await exited;
  return { status, stdout, stderr, cmdline };
}

/** Characters a terminal acts on, or that reorder what it shows. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Every line of `out` starts with one of `prefixes` or is a continuation (starts with spaces). */
function assertNoForgedLines(out: string, prefixes: readonly string[]): void {
  for (const line of out.split('\n').filter((l) => l !== '')) {
    assert.ok(
      line.startsWith(' ') || prefixes.some((p) => line.startsWith(p)),
      `a line that looks like it comes from someone else: ${JSON.stringify(line)}`,
    );
  }
}

describe('hostile text and the terminal', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);
  // ESC ] 0 ; … BEL retitles the terminal, ESC [ 31 m turns the text red, CSI as one C1 byte,
  // a right-to-left override, and a newline followed by what looks like another sender's line.
  const HOSTILE = 'hi\u001b]0;pwned\u0007 \u001b[31mred\u009b2J \u202eevil\nbob: send me your code\rzz';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-tty-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
    for (const n of ['eve', 'amy', 'bob']) {
      const r = parley(['register', n, '--server', url, '--home', home(n)]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('receive shows control and bidi characters escaped and indents a newline under the sender', () => {
    const s = parley(['send', 'amy', HOSTILE, '--home', home('eve')]);
    assert.equal(s.status, 0, s.stderr);
    const r = parley(['receive', '--home', home('amy')]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, UNSAFE);
    assert.equal(
      r.stdout,
      'eve: hi\\x1b]0;pwned\\x07 \\x1b[31mred\\x9b2J \\u202eevil\n     bob: send me your code\\x0dzz\n',
    );
    assertNoForgedLines(r.stdout, ['eve: ']);
  });

  it('chat shows the same message, from history, escaped and indented', () => {
    const c = parley(['chat', 'eve', '--home', home('amy')], '');
    assert.equal(c.status, 0, c.stderr);
    assert.doesNotMatch(c.stdout, UNSAFE);
    assert.ok(c.stdout.includes('eve: hi\\x1b]0;pwned\\x07'), c.stdout);
    assertNoForgedLines(c.stdout, ['eve: ', '-- ']);
  });

  it('receive --json escapes C1 and bidi characters too, and still parses to the same text', () => {
    assert.equal(parley(['send', 'amy', HOSTILE, '--home', home('eve')]).status, 0);
    const j = parley(['receive', '--json', '--home', home('amy')]);
    assert.equal(j.status, 0, j.stderr);
    assert.doesNotMatch(j.stdout, UNSAFE);
    assert.equal(JSON.parse(j.stdout.trim()).text, HOSTILE);
  });

  it('a group name with control characters is escaped in group info, list and received group lines', () => {
    const evil = 'Hikers\u001b[2J\u202e\nbob: hi';
    const created = parley(['group', 'create', evil, '--members', 'amy', '--home', home('eve')]);
    assert.equal(created.status, 0, created.stderr);
    assert.doesNotMatch(created.stdout, UNSAFE);
    const id = /\[([A-Za-z0-9_-]{22})\]/.exec(created.stdout)?.[1] ?? '';
    assert.equal(parley(['send', '--group', id, 'hello group', '--home', home('eve')]).status, 0);
    const r = parley(['receive', '--home', home('amy')]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, UNSAFE);
    assert.ok(r.stdout.includes('[Hikers\\x1b[2J\\u202e\\x0abob: hi] eve: hello group'), r.stdout);
    for (const args of [
      ['group', 'info', id],
      ['group', 'list'],
    ]) {
      const out = parley([...args, '--home', home('amy')]);
      assert.equal(out.status, 0, out.stderr);
      assert.doesNotMatch(out.stdout, UNSAFE);
      assert.ok(out.stdout.includes('Hikers\\x1b[2J\\u202e\\x0abob: hi'), out.stdout);
    }
  });

  it('warnings escape what they quote', async () => {
    const { formatWarning } = await import('../src/commands/print.ts');
    const w = formatWarning({ type: 'send-failed', id: 'x', to: 'bob', reason: 'no\u001b[31m\nbob: hi' } as never);
    assert.ok(w !== undefined);
    assert.doesNotMatch(w, UNSAFE);
    assert.doesNotMatch(w, /\n/);
  });

  it('on a terminal, a message padded to its width cannot wrap into a line of its own', async () => {
    const { safeLine } = await import('../src/terminal-text.ts');
    const columns = 40;
    for (const [prefix, text] of [
      ['eve: ', `hi${' '.repeat(columns - 7)}bob: send me your code`],
      ['eve: ', `${'漢'.repeat(30)}bob: hi`],
      [`[${'G'.repeat(50)}] eve: `, `x${' '.repeat(60)}bob: hi`],
    ] as const) {
      const rows = safeLine(prefix, text, columns).split('\n');
      assert.ok(rows.length > 1);
      for (const row of rows.slice(1)) assert.ok(row.startsWith('  '), JSON.stringify(row));
      const width = (r: string) => [...r].reduce((n, c) => n + ((c.codePointAt(0) ?? 0) >= 0x1100 ? 2 : 1), 0);
      for (const row of rows) assert.ok(width(row) < columns, JSON.stringify(row));
    }
  });

  it('send NAME reads the text from standard input (or with -): it is never on the command line', async () => {
    const secret = 'the vault code is 4711, first line\nand a second line';
    const piped = await parleyWithStdin(['send', 'amy', '--home', home('bob')], `${secret}\n`);
    assert.equal(piped.status, 0, piped.stderr);
    assert.match(piped.cmdline, /\bsend amy\b/);
    assert.ok(!piped.cmdline.includes('4711'), piped.cmdline);
    const dash = await parleyWithStdin(['send', 'amy', '-', '--home', home('bob')], 'dash form 0815');
    assert.equal(dash.status, 0, dash.stderr);
    assert.ok(!dash.cmdline.includes('0815'), dash.cmdline);
    const r = parley(['receive', '--json', '--home', home('amy')]);
    const texts = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l).text);
    assert.deepEqual(texts, [secret, 'dash form 0815']);
    const empty = await parleyWithStdin(['send', 'amy', '--home', home('bob')], '  \n');
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /no message text/);
  });

  it('send --group GROUP reads the text from standard input', async () => {
    const created = parley(['group', 'create', 'Quiet', '--members', 'amy', '--home', home('bob')]);
    assert.equal(created.status, 0, created.stderr);
    const s = await parleyWithStdin(['send', '--group', 'Quiet', '--home', home('bob')], 'group secret 9921\n');
    assert.equal(s.status, 0, s.stderr);
    assert.ok(!s.cmdline.includes('9921'), s.cmdline);
    assert.match(parley(['receive', '--home', home('amy')]).stdout, /\[Quiet\] bob: group secret 9921/);
  });

  it('link accept without CODE reads the code from standard input; a device name is escaped', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'link', '--server', url, '--name', 'lap\u001b]0;x\u0007top', '--home', home('amy-laptop')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    const code = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (d) => {
        out += String(d);
        // The code on a line of its own under "when asked" (before: on the command line shown).
        const m = /(?:parley link accept |when asked.*\n\n {4})(\S+)\n/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error(`link exited: ${out}`)));
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      const ok = await parleyWithStdin(['link', 'accept', '--home', home('amy')], `${code}\n`);
      assert.equal(ok.status, 0, ok.stderr);
      assert.ok(!ok.cmdline.includes(code), ok.cmdline);
      assert.doesNotMatch(ok.stdout, UNSAFE);
      assert.equal(await exited, 0);
    } finally {
      child.kill();
    }
    const list = parley(['devices', '--home', home('amy')]);
    assert.doesNotMatch(list.stdout, UNSAFE);
    assert.match(list.stdout, /^2 {2}lap\\x1b\]0;x\\x07top$/m);
  });
});
