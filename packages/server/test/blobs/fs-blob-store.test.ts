import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFsBlobStore } from '../../src/blobs/fs-blob-store.ts';
import { blobStoreContract } from './blob-store-contract.ts';

blobStoreContract('file system', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-blobs-'));
  return {
    store: await openFsBlobStore(dir),
    reopen: () => openFsBlobStore(dir),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
