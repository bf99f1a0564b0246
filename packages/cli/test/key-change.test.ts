/**
 * `parley send` and `parley verify` when an operator swaps a contact's account (deletes it and
 * registers the name again under new keys): the send is held (exit 4) and says so truthfully,
 * nothing reaches the new key until `send --accept-change`, and `verify --accept` takes the
 * digits that were compared. issue 19, items 1 and 2.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SQLITE_FILE } from '@parley/server';
import Database from 'better-sqlite3';
import { parley, startServer } from './helpers/cli.ts';

/** The 60 digits `parley verify` printed. */
const digitsOf = (out: string) => (out.match(/^ {4}(\d{5} ){3}\d{5}$/gm) ?? []).join('').replace(/\s/g, '');

describe('a swapped contact account, through the parley command', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  const home = (n: string) => join(dir, n);

  /** The server forgets `name` (what a malicious operator does before re-registering it). */
  const forget = (name: string): void => {
    const db = new Database(join(dir, 'srv', SQLITE_FILE));
    db.pragma('busy_timeout = 5000');
    for (const t of ['devices', 'signed_prekeys', 'one_time_prekeys', 'kem_prekeys']) {
      db.prepare(`DELETE FROM ${t} WHERE account = ?`).run(name);
    }
    db.prepare('DELETE FROM accounts WHERE name = ?').run(name);
    db.close();
  };

  /** `victim` and `contact` exchange a message; then the operator swaps `contact`'s account. */
  const swap = (victim: string, contact: string): void => {
    assert.equal(parley(['register', victim, '--server', url, '--home', home(victim)]).status, 0);
    assert.equal(parley(['register', contact, '--server', url, '--home', home(contact)]).status, 0);
    assert.equal(parley(['send', contact, 'before the swap', '--home', home(victim)]).status, 0);
    assert.equal(parley(['receive', '--home', home(contact)]).stdout, `${victim}: before the swap\n`);
    forget(contact);
    const r = parley(['register', contact, '--server', url, '--home', home(`${contact}-new`)]);
    assert.equal(r.status, 0, r.stderr);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cli-keychange-'));
    ({ server, url } = await startServer(join(dir, 'srv')));
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('send to a swapped contact is held (exit 4, says held), nothing reaches the new key until --accept-change', () => {
    swap('ann', 'ben');
    const s = parley(['send', 'ben', 'after the swap', '--home', home('ann')]);
    assert.equal(s.status, 4, s.stdout + s.stderr);
    assert.doesNotMatch(s.stdout, /sent/);
    assert.match(s.stderr, /held/);
    assert.match(s.stderr, /--accept-change/);
    assert.equal(parley(['receive', '--home', home('ben-new')]).stdout, '', 'the new key got nothing');
    const again = parley(['send', 'ben', 'second', '--home', home('ann')]);
    assert.equal(again.status, 4, again.stderr);
    assert.equal(parley(['receive', '--home', home('ben-new')]).stdout, '');

    const released = parley(['send', 'ben', '--accept-change', '--home', home('ann')]);
    assert.equal(released.status, 0, released.stderr);
    assert.match(released.stdout, /sent 2 held messages to ben/);
    assert.equal(parley(['receive', '--home', home('ben-new')]).stdout, 'ann: after the swap\nann: second\n');
  });

  it('the policy is a home setting: block-verified sends after the change was shown', () => {
    assert.equal(parley(['register', 'cid', '--server', url, '--home', home('cid')]).status, 0);
    assert.match(parley(['config', 'key-change-policy', '--home', home('cid')]).stdout, /hold-all/);
    const set = parley(['config', 'key-change-policy', 'block-verified', '--home', home('cid')]);
    assert.equal(set.status, 0, set.stderr);
    assert.equal(parley(['config', 'key-change-policy', 'sometimes', '--home', home('cid')]).status, 2);
    assert.match(parley(['config', 'key-change-policy', '--home', home('cid')]).stdout, /block-verified/);
    assert.equal(parley(['register', 'dot', '--server', url, '--home', home('dot')]).status, 0);
    assert.equal(parley(['send', 'dot', 'before the swap', '--home', home('cid')]).status, 0);
    forget('dot');
    assert.equal(parley(['register', 'dot', '--server', url, '--home', home('dot-new')]).status, 0);
    const held = parley(['send', 'dot', 'held one', '--home', home('cid')]);
    assert.equal(held.status, 4, held.stderr);
    const later = parley(['send', 'dot', 'later', '--home', home('cid')]);
    assert.equal(later.status, 0, later.stderr);
    assert.equal(parley(['receive', '--home', home('dot-new')]).stdout, 'cid: later\n');
  });

  it('verify --accept takes the compared digits: a mismatch is refused, a change since last shown is said', () => {
    swap('eve', 'fay');
    // Not compared before the swap: eve looks at the number now, for the key that is current.
    const before = parley(['verify', 'fay', '--home', home('eve')]);
    assert.equal(before.status, 0, before.stderr);
    assert.equal(parley(['register', 'gil', '--server', url, '--home', home('gil')]).status, 0);
    assert.equal(parley(['send', 'gil', 'hi', '--home', home('eve')]).status, 0);
    const shown = parley(['verify', 'gil', '--home', home('eve')]);
    const gilDigits = digitsOf(shown.stdout);
    assert.equal(gilDigits.length, 60);
    forget('gil');
    assert.equal(parley(['register', 'gil', '--server', url, '--home', home('gil-new')]).status, 0);
    assert.equal(parley(['send', 'gil', 'after', '--home', home('eve')]).status, 4);
    const now = parley(['verify', 'gil', '--home', home('eve')]);
    assert.match(now.stdout, /CHANGED since you last compared/);
    assert.notEqual(digitsOf(now.stdout), gilDigits);

    // The number compared before the change is refused: nothing marked verified.
    const stale = parley(['verify', 'gil', '--accept', gilDigits, '--home', home('eve')]);
    assert.notEqual(stale.status, 0);
    assert.match(stale.stderr, /does not match/);
    assert.doesNotMatch(parley(['verify', 'gil', '--home', home('eve')]).stdout, /gil is verified/);
    assert.equal(parley(['receive', '--home', home('gil-new')]).stdout, '');
    // A bare --accept is not enough any more.
    assert.equal(parley(['verify', 'gil', '--accept', '--home', home('eve')]).status, 2);

    const grouped = digitsOf(now.stdout).replace(/(\d{5})/g, '$1 ');
    const ok = parley(['verify', 'gil', '--accept', grouped, '--home', home('eve')]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /gil is now marked verified/);
    assert.match(parley(['verify', 'gil', '--home', home('eve')]).stdout, /gil is verified/);
    assert.equal(parley(['receive', '--home', home('gil-new')]).stdout, 'eve: after\n');
  });
});
