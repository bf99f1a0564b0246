import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS, resolveOptions } from '@parley/server';
import { formatByteSize, parseByteSize } from '../../src/byte-size.ts';
import { serveOptions } from '../../src/commands/serve.ts';
import { SERVE_HELP } from '../../src/commands/serve-help.ts';

describe('parley serve: attachment blob settings', () => {
  it('--blob-quota and --max-attachment take sizes with binary units', () => {
    const o = resolveOptions(serveOptions({ 'blob-quota': '10GiB', 'max-attachment': '500M' }, {}, '/web'));
    assert.equal(o.limits.blobQuotaBytes, 10 * 1024 ** 3);
    assert.equal(o.limits.maxAttachmentBytes, 500 * 1024 ** 2);
    const d = resolveOptions(serveOptions({}, {}, '/web'));
    assert.equal(d.limits.blobQuotaBytes, 5 * 1024 ** 3);
    assert.equal(d.limits.maxAttachmentBytes, 2 * 1024 ** 3);
    assert.equal(d.limits.abandonedUploadMs, 24 * 3600 * 1000);
  });

  it('refuses sizes it cannot read, and a largest attachment above 3 GiB', () => {
    for (const flags of [{ 'blob-quota': 'lots' }, { 'max-attachment': '4GiB' }, { 'max-attachment': '-1' }]) {
      assert.throws(() => serveOptions(flags, {}, '/web'), /takes a size/, JSON.stringify(flags));
    }
  });

  it('the help shows the defaults from the option table', () => {
    const help = SERVE_HELP.replace(/\s+/g, ' ');
    assert.ok(help.includes(`--blob-quota (default ${DEFAULT_LIMITS.blobQuotaBytes / 1024 ** 3}GiB)`));
    assert.ok(help.includes(`--max-attachment (default ${DEFAULT_LIMITS.maxAttachmentBytes / 1024 ** 3}GiB`));
  });

  it('reads and prints byte sizes', () => {
    assert.equal(parseByteSize('1024'), 1024);
    assert.equal(parseByteSize('1.5KiB'), 1536);
    assert.equal(parseByteSize('2 gib'), 2 * 1024 ** 3);
    assert.equal(parseByteSize('2 parsecs'), undefined);
    assert.equal(formatByteSize(1536), '1.5 KiB');
    assert.equal(formatByteSize(5 * 1024 ** 3), '5 GiB');
    assert.equal(formatByteSize(12), '12 B');
  });
});
