/**
 * `parley conversations`, archive/pin/mute, block and forget (issue 23, "Conversations"): all
 * local to the home, checked through what the commands print and what the SDK then holds.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parley, startServer } from './helpers/cli.ts';

describe('parley conversations, archive, pin, mute, block, forget', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);
  const ok = (args: string[], input?: string) => {
    const r = parley(args, input);
    assert.equal(r.status, 0, `parley ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-conv-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
    for (const n of ['amy', 'bob', 'cat']) ok(['register', n, '--server', url, '--home', home(n)]);
    ok(['send', 'amy', '--home', home('bob')], 'from bob');
    ok(['send', 'amy', '--home', home('cat')], 'from cat');
    ok(['receive', '--home', home('amy')]);
  });
  after(async () => {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists conversations, pinned first; archived ones only with --archived', () => {
    const list = () => ok(['conversations', '--home', home('amy')]);
    assert.match(list(), /^cat\n {2}cat: from cat\nbob\n {2}bob: from bob\n$/);
    assert.equal(ok(['pin', 'bob', '--home', home('amy')]), 'pinned bob\n');
    assert.equal(ok(['mute', 'cat', '--home', home('amy')]), 'muted cat\n');
    assert.match(list(), /^bob \(pinned\)\n.*\ncat \(muted\)\n/);
    assert.equal(ok(['archive', 'cat', '--home', home('amy')]), 'archived cat\n');
    assert.equal(list(), 'bob (pinned)\n  bob: from bob\n(1 archived: parley conversations --archived)\n');
    assert.equal(ok(['conversations', '--archived', '--home', home('amy')]), 'cat (muted)\n  cat: from cat\n');
    ok(['unarchive', 'cat', '--home', home('amy')]);
    ok(['unpin', 'bob', '--home', home('amy')]);
    ok(['unmute', 'cat', '--home', home('amy')]);
    assert.match(list(), /^cat\n.*\nbob\n/);
    assert.match(parley(['mute', '--home', home('amy')]).stderr, /usage: parley mute NAME/);
    assert.match(ok(['mute', '--help']), /parley archive NAME \| unarchive NAME/);
  });

  it('forget deletes a mistyped conversation', () => {
    // "bobby" does not exist: the send fails, and leaves a conversation behind.
    const typo = parley(['send', 'bobby', '--home', home('amy')], 'hello?');
    assert.notEqual(typo.status, 0);
    assert.match(ok(['conversations', '--home', home('amy')]), /^bobby$/m);
    assert.equal(
      ok(['forget', 'bobby', '--home', home('amy')]),
      'forgot the conversation with bobby (1 message deleted from this home)\n',
    );
    assert.doesNotMatch(ok(['conversations', '--home', home('amy')]), /bobby/);
    const again = parley(['forget', 'bobby', '--home', home('amy')]);
    assert.equal(again.status, 1, again.stderr);
    assert.match(again.stderr, /no conversation with bobby/);
  });

  it('block drops what the contact sends and refuses sends to them; unblock undoes it', () => {
    assert.match(ok(['block', 'bob', '--home', home('amy')]), /^blocked bob: their messages are dropped/);
    assert.match(ok(['conversations', '--home', home('amy')]), /^bob \(blocked\)$/m);
    ok(['send', 'amy', '--home', home('bob')], 'while blocked');
    assert.equal(ok(['receive', '--home', home('amy')]), '');
    const refused = parley(['send', 'bob', '--home', home('amy')], 'no');
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /you blocked bob/);
    assert.equal(ok(['unblock', 'bob', '--home', home('amy')]), 'unblocked bob\n');
    ok(['send', 'amy', '--home', home('bob')], 'after unblock');
    assert.equal(ok(['receive', '--home', home('amy')]), 'bob: after unblock\n');
  });
});
