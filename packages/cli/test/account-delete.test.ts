/**
 * `parley account delete` (issue 23, "Account"): asks for the name (or --yes), deletes the
 * account on the server and the home's keys and history here; a contact sending to it is told
 * the account does not exist (exit 5).
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HOME_DB_FILE } from '@parley/client';
import { parley, startServer } from './helpers/cli.ts';

describe('parley account delete', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-del-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
    for (const n of ['amy', 'bob', 'cal']) {
      const r = parley(['register', n, '--server', url, '--home', home(n)]);
      assert.equal(r.status, 0, r.stderr);
    }
    assert.equal(parley(['send', 'amy', '--home', home('bob')], 'hi amy').status, 0);
  });
  after(async () => {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('a wrong name typed deletes nothing', () => {
    const r = parley(['account', 'delete', '--home', home('amy')], 'amie\n');
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /not deleted: the name typed does not match/);
    assert.equal(parley(['send', 'amy', '--home', home('bob')], 'still there?').status, 0);
  });

  it('the name typed deletes the account and the home; a contact sending to it gets exit 5', () => {
    const r = parley(['account', 'delete', '--home', home('amy')], 'amy\n');
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /^deleted the account amy on http:\/\/127\.0\.0\.1:\d+; this home's keys and history are removed\n$/,
    );
    assert.equal(existsSync(join(home('amy'), HOME_DB_FILE)), false);
    const sent = parley(['send', 'amy', '--home', home('bob')], 'hello?');
    assert.equal(sent.status, 5, sent.stderr);
    assert.match(sent.stderr, /amy|account/);
  });

  it('--yes deletes without asking (scripts)', () => {
    const r = parley(['account', 'delete', '--yes', '--home', home('cal')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(parley(['send', 'cal', '--home', home('bob')], 'hello?').status, 5);
  });
});
