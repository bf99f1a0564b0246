import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlobLocationError, isS3BlobLocation, parseS3BlobLocation } from '../../src/blobs/s3-blob-url.ts';

describe('the --blobs s3:// address', () => {
  it('reads bucket, prefix, endpoint, region, path style and credentials; the display has no secret', () => {
    const l = parseS3BlobLocation(
      's3://parley-blobs/prod/a?endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu-west-1&accessKeyId=AK&secretAccessKey=SECRET',
      {},
    );
    assert.equal(l.bucket, 'parley-blobs');
    assert.equal(l.prefix, 'prod/a/');
    assert.equal(l.endpoint, 'http://127.0.0.1:9000');
    assert.equal(l.region, 'eu-west-1');
    assert.equal(l.forcePathStyle, true);
    assert.deepEqual(l.credentials, { accessKeyId: 'AK', secretAccessKey: 'SECRET' });
    assert.ok(!l.display.includes('SECRET') && !l.display.includes('AK'), l.display);
  });

  it('without an endpoint or credentials: AWS itself, virtual-hosted style, the SDK’s chain, $AWS_REGION', () => {
    const l = parseS3BlobLocation('s3://parley-blobs', { AWS_REGION: 'ap-south-1' });
    assert.equal(l.prefix, '');
    assert.equal(l.endpoint, undefined);
    assert.equal(l.forcePathStyle, false);
    assert.equal(l.credentials, undefined);
    assert.equal(l.region, 'ap-south-1');
  });

  it('refuses bad buckets, prefixes, endpoints, half credentials and unknown settings', () => {
    for (const bad of [
      's3://B/x',
      's3://ab',
      's3://bucket/a%20b',
      's3://bucket?endpoint=ftp://x',
      's3://bucket?accessKeyId=only',
      's3://bucket?colour=blue',
      's3://user:pw@bucket',
      'http://bucket',
    ]) {
      assert.throws(() => parseS3BlobLocation(bad, {}), BlobLocationError, bad);
    }
    assert.equal(isS3BlobLocation('S3://x'), true);
    assert.equal(isS3BlobLocation('fs'), false);
  });
});
