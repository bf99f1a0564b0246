/**
 * `parley history`, `send --reply-to`, `react`, `edit` and `delete`, one-to-one and in a group,
 * between CLI homes through a real `parley serve` (docs/protocol.md §12.1).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parley, startServer } from './helpers/cli.ts';

interface HistoryLine {
  id: string;
  from: string;
  text: string;
  edited: boolean;
  deleted: boolean;
  replyTo?: { id: string; sender: string; snippet: string };
  reactions: { emoji: string; count: number; by: string[] }[];
}

describe('parley history, react, edit, delete and --reply-to', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);
  const as = (who: string, ...args: string[]) => parley([...args, '--home', home(who)]);
  /** Runs a command that must succeed. */
  const ok = (who: string, ...args: string[]) => {
    const r = as(who, ...args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };
  const historyOf = (who: string, ...target: string[]): HistoryLine[] => {
    const r = as(who, 'history', ...target, '--json');
    assert.equal(r.status, 0, r.stderr);
    return r.stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as HistoryLine);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cli-conv-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
    for (const n of ['ann', 'ben', 'cat']) {
      const r = parley(['register', n, '--server', url, '--home', home(n)]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('one-to-one: history shows ids; reply, react, edit and delete reach the other home', () => {
    ok('ann', 'send', 'ben', 'lunch at noon?');
    ok('ben', 'receive');
    const [original] = historyOf('ben', 'ann');
    assert.ok(original !== undefined && original.text === 'lunch at noon?');
    const plain = as('ben', 'history', 'ann');
    assert.ok(plain.stdout.startsWith(`${original.id}  ann: lunch at noon?`), plain.stdout);

    const reply = as('ben', 'send', 'ann', '--reply-to', original.id, 'yes, see you there');
    assert.equal(reply.status, 0, reply.stderr);
    assert.equal(reply.stdout, 'reply sent to ann\n');
    const react = as('ben', 'react', 'ann', original.id, '👍', '--json');
    assert.equal(react.status, 0, react.stderr);
    assert.equal(JSON.parse(react.stdout).status, 'sent');

    ok('ann', 'receive');
    const onAnn = historyOf('ann', 'ben');
    assert.deepEqual(onAnn[0]?.reactions, [{ emoji: '👍', count: 1, by: ['ben'] }]);
    assert.equal(onAnn[1]?.replyTo?.id, original.id);
    assert.equal(onAnn[1]?.replyTo?.snippet, 'lunch at noon?');

    // Refusals: not one emoji, someone else's message; nothing is sent, exit 1.
    const notEmoji = as('ben', 'react', 'ann', original.id, 'yes');
    assert.equal(notEmoji.status, 1);
    assert.match(notEmoji.stderr, /one emoji/);
    const notMine = as('ben', 'edit', 'ann', original.id, 'forged');
    assert.equal(notMine.status, 1);
    assert.match(notMine.stderr, /only the sender/);

    const edit = as('ann', 'edit', 'ben', original.id, 'lunch at one?');
    assert.equal(edit.status, 0, edit.stderr);
    assert.equal(edit.stdout, 'edit sent to ben\n');
    ok('ben', 'receive');
    const edited = historyOf('ben', 'ann').find((m) => m.id === original.id);
    assert.equal(edited?.text, 'lunch at one?');
    assert.equal(edited?.edited, true);
    assert.match(as('ben', 'history', 'ann').stdout, /lunch at one\? {2}\(edited\) {2}👍 1/);

    ok('ben', 'react', 'ann', original.id, '--remove');
    const del = as('ann', 'delete', 'ben', original.id);
    assert.equal(del.status, 0, del.stderr);
    ok('ben', 'receive');
    const gone = historyOf('ben', 'ann').find((m) => m.id === original.id);
    assert.deepEqual([gone?.deleted, gone?.text, gone?.reactions], [true, '', []]);
    assert.match(as('ben', 'history', 'ann').stdout, new RegExp(`${original.id} {2}ann: \\(deleted\\)`));
    const again = as('ann', 'edit', 'ben', original.id, 'back');
    assert.equal(again.status, 1);
    assert.match(again.stderr, /deleted/);
  });

  it('in a group: react, edit and delete with --group', () => {
    const g = as('ann', 'group', 'create', 'picnic', '--members', 'ben,cat');
    assert.equal(g.status, 0, g.stderr);
    ok('ann', 'send', '--group', 'picnic', 'bring fruit');
    for (const who of ['ben', 'cat']) ok(who, 'receive');
    const original = historyOf('cat', '--group', 'picnic').find((m) => m.text === 'bring fruit');
    assert.ok(original !== undefined);
    ok('cat', 'react', '--group', 'picnic', original.id, '🍎');
    ok('ben', 'react', '--group', 'picnic', original.id, '🍎');
    const edit = as('ann', 'edit', '--group', 'picnic', original.id, 'bring fruit and water');
    assert.equal(edit.status, 0, edit.stderr);
    assert.equal(edit.stdout, 'edit sent to “picnic”\n');
    ok('ann', 'receive');
    const onAnn = historyOf('ann', '--group', 'picnic').find((m) => m.id === original.id);
    assert.deepEqual(onAnn?.reactions, [{ emoji: '🍎', count: 2, by: ['cat', 'ben'] }]);
    ok('cat', 'receive');
    assert.equal(
      historyOf('cat', '--group', 'picnic').find((m) => m.id === original.id)?.text,
      'bring fruit and water',
    );
    ok('ann', 'delete', '--group', 'picnic', original.id);
    ok('ben', 'receive');
    assert.equal(historyOf('ben', '--group', 'picnic').find((m) => m.id === original.id)?.deleted, true);
  });
});
