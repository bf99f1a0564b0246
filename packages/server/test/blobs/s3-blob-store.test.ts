import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import { openS3BlobStore } from '../../src/blobs/s3-blob-store.ts';
import { parseS3BlobLocation } from '../../src/blobs/s3-blob-url.ts';
import { startTestS3OrSkip, type TestS3 } from '../helpers/s3-server.ts';
import { blobStoreContract } from './blob-store-contract.ts';

// One S3 server for the file; each contract run gets its own key prefix.
const started = await startTestS3OrSkip();
const s3: TestS3 | undefined = 'skip' in started ? undefined : started;
after(async () => s3?.stop());

blobStoreContract(
  'S3 (s3rver)',
  async () => {
    if (s3 === undefined) throw new Error('unreachable: skipped');
    const location = parseS3BlobLocation(s3.location(`run-${randomBytes(4).toString('hex')}`));
    return {
      store: await openS3BlobStore(location),
      reopen: () => openS3BlobStore(location),
      cleanup: async () => {},
    };
  },
  'skip' in started ? started.skip : undefined,
);
