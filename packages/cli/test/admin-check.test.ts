import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SQLITE_FILE, startServer } from '@parley/server';
import { parley } from './helpers/cli.ts';

describe('parley admin check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-check-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a healthy database, names a lost one, and creates none where there is none', async () => {
    const dataDir = join(dir, 'data');
    await (await startServer({ port: 0, dataDir, logLevel: 'silent' })).close();
    const ok = parley(['admin', 'check', '--data', dataDir]);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /quick_check ok, schema up to date/);

    rmSync(join(dataDir, SQLITE_FILE));
    const lost = parley(['admin', 'check', '--data', dataDir]);
    assert.equal(lost.status, 1);
    assert.match(lost.stderr, /DATABASE_LOST: the database .* is missing/);
    assert.match(lost.stderr, /restore it from a backup/);

    const none = parley(['admin', 'check', '--data', join(dir, 'typo')]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no Parley database in/);
  });
});
