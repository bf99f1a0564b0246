import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS, DEFAULT_OPTIONS, LOG_LEVELS, resolveOptions } from '@parley/server';
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
