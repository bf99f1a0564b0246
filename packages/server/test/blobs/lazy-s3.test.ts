/**
 * The AWS SDK is loaded only when blobs are on S3: a server on the file system (the default)
 * keeps its idle memory without it (issue 18's idle RSS bound). The control run on S3 shows the
 * record does see the SDK once it is used.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runJsonChild } from '../helpers/json-child.ts';
import { startTestS3OrSkip } from '../helpers/s3-server.ts';

const CHILD = join(import.meta.dirname, '..', 'helpers', 'started-modules.ts');
const dir = mkdtempSync(join(tmpdir(), 'parley-lazy-s3-'));
const s3 = await startTestS3OrSkip('lazy-s3');
after(async () => {
  if (!('skip' in s3)) await s3.stop();
  rmSync(dir, { recursive: true, force: true });
});

const awsSdkLoaded = async (options: object, name: string): Promise<boolean> => {
  const lines = await runJsonChild<{ awsSdk?: boolean }>(
    CHILD,
    { dataDir: join(dir, name), reportS3: true, ...options },
    join(dir, `${name}.loads`),
  );
  const line = lines.find((l) => l.awsSdk !== undefined);
  assert.ok(line, 'the child reported whether it loaded the SDK');
  return line.awsSdk === true;
};

describe('the S3 SDK is loaded only for S3 blob storage', () => {
  it('a server on the file system never loads @aws-sdk/client-s3', async () => {
    assert.equal(await awsSdkLoaded({}, 'fs'), false);
  });

  it('a server on S3 does (the control)', { skip: 'skip' in s3 ? s3.skip : false }, async () => {
    if ('skip' in s3) return;
    assert.equal(await awsSdkLoaded({ blobs: s3.location('lazy') }, 's3'), true);
  });
});
