import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parley, startServer } from './helpers/cli.ts';

describe('parley search', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cli-search-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
    assert.equal(parley(['register', 'ann', '--server', url, '--home', home('ann')]).status, 0);
    assert.equal(parley(['register', 'ben', '--server', url, '--home', home('ben')]).status, 0);
    assert.equal(parley(['send', 'ben', 'the blue heron lands', '--home', home('ann')]).status, 0);
    assert.equal(parley(['send', 'ben', 'a grey heron too', '--home', home('ann')]).status, 0);
    assert.equal(parley(['send', 'ben', 'nothing here', '--home', home('ann')]).status, 0);
    assert.equal(parley(['receive', '--home', home('ben')]).status, 0);
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the matching messages, newest first, with their ids; --json and --limit', () => {
    const r = parley(['search', 'heron', '--home', home('ben')]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] as string, /^\d{4}-\d\d-\d\d \d\d:\d\d ann ann: a grey heron too {2}\(id [\w-]+\)$/);
    assert.match(lines[1] as string, /ann: the blue heron lands/);

    const j = parley(['search', 'her blu', '--json', '--home', home('ben')]);
    assert.equal(j.status, 0, j.stderr);
    const hit = JSON.parse(j.stdout.trim());
    assert.deepEqual([hit.peer, hit.from, hit.snippet], ['ann', 'ann', 'the blue heron lands']);
    assert.equal(typeof hit.id, 'string');

    const one = parley(['search', 'heron', '--limit', '1', '--json', '--home', home('ann')]);
    assert.equal(one.stdout.trim().split('\n').length, 1);
    assert.equal(JSON.parse(one.stdout).snippet, 'a grey heron too');
  });

  it('says when nothing matches, and refuses a search with no words or a bad limit', () => {
    const none = parley(['search', 'albatross', '--home', home('ben')]);
    assert.equal(none.status, 0);
    assert.equal(none.stdout, '');
    assert.match(none.stderr, /no messages found/);
    // FTS5 syntax is searched for as words, not run.
    assert.equal(parley(['search', 'NEAR("heron', '--home', home('ben')]).status, 0);
    const empty = parley(['search', '   ', '--home', home('ben')]);
    assert.equal(empty.status, 2);
    assert.match(empty.stderr, /no words/);
    assert.equal(parley(['search', 'heron', '--limit', '0', '--home', home('ben')]).status, 2);
    assert.equal(parley(['search', '--home', home('ben')]).status, 2);
  });
});

describe('parley timer', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cli-timer-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
    assert.equal(parley(['register', 'cat', '--server', url, '--home', home('cat')]).status, 0);
    assert.equal(parley(['register', 'dan', '--server', url, '--home', home('dan')]).status, 0);
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('sets the timer for both sides, shows it, and refuses other values', () => {
    assert.equal(parley(['timer', 'dan', '--home', home('cat')]).stdout, 'disappearing messages with dan: off\n');
    const set = parley(['timer', 'dan', '1h', '--home', home('cat')]);
    assert.equal(set.status, 0, set.stderr);
    assert.equal(set.stdout, 'disappearing messages with dan: 1 hour (set)\n');
    assert.equal(parley(['receive', '--home', home('dan')]).status, 0);
    assert.equal(parley(['timer', 'cat', '--home', home('dan')]).stdout, 'disappearing messages with cat: 1 hour\n');
    for (const bad of ['2h', '60', '0', 'forever']) {
      const r = parley(['timer', 'dan', bad, '--home', home('cat')]);
      assert.equal(r.status, 2, bad);
      assert.match(r.stderr, /5m\|1h\|1d\|1w\|4w\|off/);
    }
    assert.equal(parley(['timer', 'dan', '--home', home('cat')]).stdout, 'disappearing messages with dan: 1 hour\n');
    assert.equal(parley(['timer', 'dan', 'off', '--home', home('cat')]).status, 0);
    assert.equal(parley(['timer', 'dan', '--home', home('cat')]).stdout, 'disappearing messages with dan: off\n');
  });
});
