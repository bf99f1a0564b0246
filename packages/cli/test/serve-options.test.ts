import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS, DEFAULT_OPTIONS, LOG_LEVELS, parseOpenFileLimits, resolveOptions } from '@parley/server';
import { serveOptions } from '../src/commands/serve.ts';

const BIN = new URL('../bin/parley.js', import.meta.url).pathname;
const HOUR_MS = 3600 * 1000;

describe('parley serve reads its defaults from the server’s option table', () => {
  it('--help shows the table’s defaults for every serve flag that has one', () => {
    const r = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    // Help lines wrap; compare with runs of spaces and line breaks folded to one space.
    const help = r.stdout.replace(/\s+/g, ' ');
    for (const shown of [
      `--port (default ${DEFAULT_OPTIONS.port})`,
      `--host (default ${DEFAULT_OPTIONS.host};`,
      `--data: directory of the SQLite database (default ${DEFAULT_OPTIONS.dataDir})`,
      `normal only a crash (default ${DEFAULT_OPTIONS.sync})`,
      `--log-level: ${LOG_LEVELS.join('|')} (default ${DEFAULT_OPTIONS.logLevel})`,
      `--queue-ttl-days (default ${DEFAULT_LIMITS.queueTtlMs / (24 * HOUR_MS)})`,
      `--send-log-hours (default ${DEFAULT_LIMITS.sendLogRetentionMs / HOUR_MS};`,
      // register and link talk to a server started with those defaults unless --server says otherwise.
      `on the server (default http://${DEFAULT_OPTIONS.host}:${DEFAULT_OPTIONS.port})`,
    ]) {
      assert.ok(help.includes(shown), `help shows ${shown}`);
    }
  });

  it('a serve with no flags runs with the table’s defaults', () => {
    const options = resolveOptions(serveOptions({}, {}, '/web'));
    assert.equal(options.port, DEFAULT_OPTIONS.port);
    assert.equal(options.host, DEFAULT_OPTIONS.host);
    assert.equal(options.dataDir, resolve(DEFAULT_OPTIONS.dataDir));
    assert.equal(options.sync, DEFAULT_OPTIONS.sync);
    assert.equal(options.logLevel, DEFAULT_OPTIONS.logLevel);
    assert.equal(options.inviteOnly, DEFAULT_OPTIONS.inviteOnly);
    assert.deepEqual(options.limits, DEFAULT_LIMITS);
    assert.equal(options.db, undefined);
    assert.equal(options.bus, undefined);
  });

  it('flags override the defaults in their own units', () => {
    const options = resolveOptions(
      serveOptions(
        {
          port: '0',
          'queue-ttl-days': '2',
          'send-log-hours': '0',
          sync: 'normal',
          'log-level': 'warn',
          'invite-only': true,
        },
        { PARLEY_DB: 'postgres://db/x', PARLEY_BUS: 'nats://bus' },
        '/web',
      ),
    );
    assert.equal(options.port, 0);
    assert.equal(options.limits.queueTtlMs, 2 * 24 * HOUR_MS);
    assert.equal(options.limits.sendLogRetentionMs, 0);
    assert.equal(options.limits.maxMessageBytes, DEFAULT_LIMITS.maxMessageBytes);
    assert.equal(options.sync, 'normal');
    assert.equal(options.logLevel, 'warn');
    assert.equal(options.inviteOnly, true);
    assert.equal(options.db, 'postgres://db/x');
    assert.equal(options.bus, 'nats://bus');
  });

  it('refuses bad values with a usage error', () => {
    for (const flags of [
      { port: '70000' },
      { 'queue-ttl-days': '0' },
      { 'send-log-hours': '-1' },
      { sync: 'sometimes' },
      { 'log-level': 'loud' },
      { db: 'mysql://x' },
    ]) {
      assert.throws(() => serveOptions(flags, {}, '/web'), /must|takes/, JSON.stringify(flags));
    }
  });
});

describe('parley serve and the open-file limit', () => {
  const hasPrlimit = spawnSync('prlimit', ['--version']).status === 0;
  it('runs with the soft limit at the hard one and warns when that is low', {
    skip: hasPrlimit ? undefined : 'needs util-linux prlimit to start the server with a low limit',
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-fd-'));
    try {
      const child = spawn(
        'prlimit',
        ['--nofile=256:1024', process.execPath, BIN, 'serve', '--port', '0', '--data', dir, '--log-level', 'silent'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => {
        out += String(d);
      });
      child.stderr.on('data', (d) => {
        err += String(d);
      });
      const deadline = Date.now() + 60_000;
      while (!out.includes('Parley relay running') && Date.now() < deadline && child.exitCode === null) {
        await new Promise((r) => setTimeout(r, 100));
      }
      const limits = parseOpenFileLimits(readFileSync(`/proc/${child.pid}/limits`, 'utf8'));
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
      assert.match(out, /Parley relay running/);
      assert.match(err, /warning: the open-file limit is 1024 \(hard 1024; each connection uses one\)/);
      assert.deepEqual(limits, { soft: 1024, hard: 1024 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads the soft and hard limits from /proc/<pid>/limits', () => {
    const text =
      'Limit Soft Limit Hard Limit Units\nMax open files            1024                 524288               files\n';
    assert.deepEqual(parseOpenFileLimits(text), { soft: 1024, hard: 524288 });
    assert.deepEqual(parseOpenFileLimits('Max open files unlimited unlimited files'), {
      soft: Number.POSITIVE_INFINITY,
      hard: Number.POSITIVE_INFINITY,
    });
    assert.equal(parseOpenFileLimits('nothing here'), undefined);
  });
});
