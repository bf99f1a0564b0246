/**
 * `@parley/server`: the relay. Start it with `startServer(options)`; `parley serve` is the CLI
 * around it. The storage interfaces are exported for the admin commands and adapters.
 */
export { migratePostgres, openPostgresStorage } from './adapters.ts';
export { type BlobLimits, type BlobService, createBlobService } from './blobs/blob-service.ts';
export {
  type BlobBody,
  type BlobMeta,
  type BlobStatus,
  type BlobStore,
  BlobStoreError,
  type BlobStoreErrorCode,
  type ByteRange,
  isBlobId,
  isBlobStoreError,
  rangeFits,
} from './blobs/blob-store.ts';
export { openFsBlobStore } from './blobs/fs-blob-store.ts';
export {
  BlobLocationError,
  isS3BlobLocation,
  parseS3BlobLocation,
  type S3BlobLocation,
} from './blobs/s3-blob-url.ts';
export { isServerError, ServerError } from './errors.ts';
export { type AccountExport, exportAccount } from './export.ts';
export { LOW_OPEN_FILE_LIMIT, type OpenFileLimits, openFileLimits, parseOpenFileLimits } from './fd-limit.ts';
export { isLoopbackAddress, metricsAllowed, RELAY_PATH } from './http-routes.ts';
export { KeyDirectory, type KtLookupAnswer } from './kt/directory.ts';
export { type DirectoryKeys, directoryFingerprint, KT_KEY_FILE, loadDirectoryKeys } from './kt/keys.ts';
export {
  DEFAULT_LIMITS,
  DEFAULT_OPTIONS,
  type Limits,
  LOG_LEVELS,
  parseListenAddress,
  resolveOptions,
  type ServerOptions,
  type TlsFiles,
} from './options.ts';
export { inviteHash } from './relay/account-ops.ts';
export { CLOSE } from './relay/connection.ts';
export { type RunningServer, startServer } from './server.ts';
export { SQLITE_MIGRATIONS } from './store/migrations.ts';
export { POSTGRES_MIGRATIONS } from './store/postgres-migrations.ts';
export { migrateSqlite, SQLITE_FILE } from './store/sqlite-migrate.ts';
export { openSqliteStorage } from './store/sqlite-worker-storage.ts';
export type * from './store/storage.ts';
export { bundleDigest, loadWebBundle, pagePolicy, type WebBundle } from './web-files.ts';
