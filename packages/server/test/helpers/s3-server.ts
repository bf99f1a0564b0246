/**
 * A real S3 API server for tests: `s3rver` (npm, a Node implementation of the S3 REST API on
 * the file system) on a free port of 127.0.0.1, with a fresh bucket. Used by the S3 blob store
 * contract run and the server tests on S3 storage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The subset of s3rver's API used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** A running S3 server and one empty bucket in it. */
export interface TestS3 {
  readonly endpoint: string;
  readonly bucket: string;
  /** The `--blobs` address of the bucket (with s3rver's fixed credentials). */
  location(prefix?: string): string;
  stop(): Promise<void>;
}

/** s3rver's built-in credentials. */
const KEY = 'S3RVER';

/**
 * Starts s3rver and creates `bucket`. Rejects when the package cannot load or start (the caller
 * decides whether that skips: never in CI).
 */
export async function startTestS3(bucket = 'parley-blobs'): Promise<TestS3> {
  // A variable name keeps TypeScript from looking for the (missing) type declarations.
  const name = 's3rver';
  const mod = (await import(name)) as { default: S3rverClass };
  const S3rver = mod.default;
  const dir = mkdtempSync(join(tmpdir(), 'parley-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: dir,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    bucket,
    location: (prefix = '') =>
      `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}&region=us-east-1&accessKeyId=${KEY}&secretAccessKey=${KEY}`,
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the test S3 server, or explains in one line why it cannot run here. In CI (`CI=true`)
 * a failure to start is a test failure, never a skip.
 */
export async function startTestS3OrSkip(bucket?: string): Promise<TestS3 | { skip: string }> {
  try {
    return await startTestS3(bucket);
  } catch (err) {
    if (process.env.CI === 'true') throw err;
    return { skip: `the s3rver package could not start here (${(err as Error).message.split('\n')[0]})` };
  }
}
