import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, type CliRun, parley as run, startServer } from '../helpers/cli.ts';

/** Runs `parley ARGS` to its end; file transfers get two minutes. */
const parley = (args: string[]): CliRun => run(args, undefined, 120_000);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('parley send --file, and receive saving attachments', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);
  const marker = `PLAINTEXT-MARKER-${randomBytes(8).toString('hex')}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cli-files-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
    for (const name of ['ann', 'ben']) {
      const r = parley(['register', name, '--server', url, '--home', home(name)]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('sends several files with a caption; receive saves each under <home>/downloads and prints the path; a clash gets " (1)"', () => {
    const files = join(dir, 'files');
    mkdirSync(files);
    const photo = Buffer.concat([randomBytes(150_000), Buffer.from(marker), randomBytes(70_000)]);
    writeFileSync(join(files, 'photo.jpg'), photo);
    writeFileSync(join(files, 'empty.txt'), new Uint8Array(0));
    // A name a hostile sender might choose: separators (a backslash is a plain character on Linux) and a leading dot.
    writeFileSync(join(files, '..\\..\\evil.sh'), 'echo hi\n');
    writeFileSync(join(files, '.hidden'), 'dot\n');
    const s = parley([
      'send',
      'ben',
      '--file',
      join(files, 'photo.jpg'),
      '--file',
      join(files, 'empty.txt'),
      '--file',
      join(files, '..\\..\\evil.sh'),
      '--file',
      join(files, '.hidden'),
      '--caption',
      'look',
      '--home',
      home('ann'),
    ]);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(s.stdout.split('\n').filter((l) => l.startsWith('sent ')).length, 4);
    // Ben already has a photo.jpg: the new one becomes "photo (1).jpg".
    const downloads = join(home('ben'), 'downloads');
    mkdirSync(downloads, { recursive: true });
    writeFileSync(join(downloads, 'photo.jpg'), 'mine');
    const r = parley(['receive', '--home', home('ben')]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], `ann: [attachment] photo.jpg (${photo.length} bytes) look`);
    assert.equal(lines[1], `saved ${join(downloads, 'photo (1).jpg')}`);
    assert.deepEqual(readFileSync(join(downloads, 'photo (1).jpg')), photo);
    assert.equal(readFileSync(join(downloads, 'photo.jpg'), 'utf8'), 'mine');
    assert.equal(statSync(join(downloads, 'empty.txt')).size, 0);
    assert.equal(readFileSync(join(downloads, 'evil.sh'), 'utf8'), 'echo hi\n');
    assert.equal(readFileSync(join(downloads, 'hidden'), 'utf8'), 'dot\n');
    assert.ok(lines.includes(`saved ${join(downloads, 'evil.sh')}`), r.stdout);
    // Nothing was written outside the downloads folder, and no temporary file was left.
    assert.deepEqual(readdirSync(downloads).sort(), ['empty.txt', 'evil.sh', 'hidden', 'photo (1).jpg', 'photo.jpg']);
    assert.equal(existsSync(join(dir, 'evil.sh')), false);
  });

  it('--downloads DIR saves there instead', () => {
    writeFileSync(join(dir, 'note.txt'), 'a note\n');
    assert.equal(parley(['send', 'ann', '--file', join(dir, 'note.txt'), '--home', home('ben')]).status, 0);
    const to = join(dir, 'elsewhere');
    const r = parley(['receive', '--downloads', to, '--home', home('ann')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`saved ${join(to, 'note.txt').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(readFileSync(join(to, 'note.txt'), 'utf8'), 'a note\n');
  });

  it('prints file names and paths with their control characters escaped (terminal-safe)', () => {
    const name = join(dir, 'red\x1b[31m.txt');
    writeFileSync(name, 'colour\n');
    const s = parley(['send', 'ann', '--file', name, '--home', home('ben')]);
    assert.equal(s.status, 0, s.stderr);
    assert.ok(!s.stdout.includes('\x1b'), JSON.stringify(s.stdout));
    assert.match(s.stdout, /sent .*red\\x1b\[31m\.txt to ann/);
    const to = join(dir, 'dl\x1b]0;title\x07');
    const r = parley(['receive', '--downloads', to, '--home', home('ann')]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes('\x1b') && !r.stdout.includes('\x07'), JSON.stringify(r.stdout));
    assert.match(r.stdout, /saved .*dl\\x1b\]0;title\\x07/);
  });

  it('send NAME --file does not read the message from standard input (left open here)', async () => {
    writeFileSync(join(dir, 'quiet.txt'), 'no stdin\n');
    const child = spawn(
      process.execPath,
      [BIN, 'send', 'ann', '--file', join(dir, 'quiet.txt'), '--home', home('ben')],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    // stdin stays open: a command waiting for the message text would never exit.
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    child.stdin?.end();
    assert.equal(code, 0);
    assert.match(stdout, /sent .*quiet\.txt to ann/);
  });

  it('refuses a missing file with a failure code and says why', () => {
    const missing = parley(['send', 'ben', '--file', join(dir, 'nope.bin'), '--home', home('ann')]);
    assert.equal(missing.status, 1, missing.stderr);
    assert.match(missing.stderr, /nope\.bin was not sent: cannot read/);
  });

  it('send --group GROUP --file: every member saves it', () => {
    const made = parley(['group', 'create', 'crew', '--members', 'ben', '--home', home('ann')]);
    assert.equal(made.status, 0, made.stderr);
    writeFileSync(join(dir, 'plan.txt'), 'the plan\n');
    const s = parley(['send', '--group', 'crew', '--file', join(dir, 'plan.txt'), '--home', home('ann')]);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /sent .*plan\.txt to “crew”/);
    const r = parley(['receive', '--home', home('ben')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /\[crew\] ann: \[attachment\] plan\.txt \(9 bytes\)/);
    assert.equal(readFileSync(join(home('ben'), 'downloads', 'plan.txt'), 'utf8'), 'the plan\n');
  });

  it('the plaintext marker of a sent file appears nowhere in the server’s data dir', () => {
    const files = filesUnder(join(dir, 'srv'));
    assert.ok(files.some((f) => f.endsWith('.blob')));
    for (const f of files) assert.ok(!readFileSync(f).includes(marker), `${f} holds the marker`);
  });
});
