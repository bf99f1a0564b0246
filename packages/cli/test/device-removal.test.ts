/**
 * `parley devices remove` (issue 19, item 3): the removal reaches contacts inside the encrypted
 * channel (their next `receive` takes the newer signed list), and what they send afterwards
 * never reaches the removed device.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HOME_DB_FILE } from '@parley/client';
import Database from 'better-sqlite3';
import { BIN, parley, startServer } from './helpers/cli.ts';

describe('parley devices remove, then a contact sends', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);
  /** The device-list version `owner`'s home has pinned for contact `name`. */
  const pinnedVersion = (owner: string, name: string): number => {
    const db = new Database(join(home(owner), HOME_DB_FILE), { readonly: true });
    try {
      return (db.prepare('SELECT list_version FROM contacts WHERE name = ?').get(name) as { list_version: number })
        .list_version;
    } finally {
      db.close();
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cli-removal-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the contact takes the newer list from the removal notice, and the removed device reads nothing sent after', async () => {
    assert.equal(parley(['register', 'cara', '--server', url, '--home', home('cara')]).status, 0);
    assert.equal(parley(['register', 'dan', '--server', url, '--home', home('dan')]).status, 0);
    const child = spawn(
      process.execPath,
      [BIN, 'link', '--server', url, '--name', 'laptop', '--home', home('laptop')],
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
    assert.equal(parley(['link', 'accept', code, '--home', home('cara')]).status, 0);
    assert.equal(await exited, 0);

    // dan pins cara's list with both devices, and both get his message.
    assert.equal(parley(['send', 'cara', 'to both', '--home', home('dan')]).status, 0);
    assert.equal(parley(['receive', '--home', home('laptop')]).stdout, 'dan: to both\n');
    assert.equal(parley(['receive', '--home', home('cara')]).stdout, 'dan: to both\n');
    assert.equal(pinnedVersion('dan', 'cara'), 2);

    const removed = parley(['devices', 'remove', '2', '--home', home('cara')]);
    assert.equal(removed.status, 0, removed.stderr);
    // The removal notice travels encrypted; it is no message, so receive prints nothing.
    const notice = parley(['receive', '--home', home('dan')]);
    assert.equal(notice.status, 0, notice.stderr);
    assert.equal(notice.stdout, '');
    assert.equal(pinnedVersion('dan', 'cara'), 3, 'dan took the newer list from the notice');

    const sent = parley(['send', 'cara', 'after the removal', '--home', home('dan')]);
    assert.equal(sent.status, 0, sent.stderr);
    assert.equal(parley(['receive', '--home', home('cara')]).stdout, 'dan: after the removal\n');
    const gone = parley(['receive', '--home', home('laptop')]);
    assert.notEqual(gone.status, 0);
    assert.doesNotMatch(gone.stdout, /after the removal/);
  });
});
