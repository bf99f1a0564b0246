/**
 * Whether the blob store can take writes, for `/healthz` (like the database's condition in
 * `storage-health.ts`): `blobs-full` when the blob storage is out of space (`ENOSPC`, `EDQUOT`),
 * `blobs-unwritable` when writing fails otherwise (`EACCES`, `EROFS`, `EIO`, a directory gone…).
 * Found two ways: every `limits.blobProbeMs` the store's `probe` writes, syncs and removes a small
 * file (the file system store; S3 has no probe), and every create or append that fails with such
 * an error. The condition ends at the next probe that succeeds. Logged once when it begins and
 * once when it ends.
 */
import type { Logger } from 'pino';
import type { BlobStore } from './blob-store.ts';

/** The blob storage condition `/healthz` reports while it lasts. */
export interface BlobFailure {
  readonly reason: 'full' | 'unwritable';
  /** The system error code (`ENOSPC`, `EACCES`, …). */
  readonly code: string;
  readonly since: number;
}

/** The blob storage's health. */
export interface BlobHealth {
  failure(): BlobFailure | undefined;
  /** Probes now (also run every `blobProbeMs`). */
  check(): Promise<void>;
  stop(): void;
}

const FULL = new Set(['ENOSPC', 'EDQUOT']);
const UNWRITABLE = /^(EACCES|EPERM|EROFS|EIO|ENOTDIR|ENOENT|EISDIR|ELOOP)$/;

/** Which blob storage condition `err` is; undefined for any other error. */
export function blobFailureReason(err: unknown): BlobFailure['reason'] | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (FULL.has(code)) return 'full';
  return UNWRITABLE.test(code) ? 'unwritable' : undefined;
}

/**
 * Wraps `store` so failing writes report here, and probes it every `probeMs` (unref'd timer).
 * Returns the wrapped store and its health.
 */
export function watchBlobStore(
  store: BlobStore,
  log: Logger,
  clock: () => number,
  probeMs: number,
): { store: BlobStore; health: BlobHealth } {
  let current: BlobFailure | undefined;
  const report = (err: unknown): void => {
    const reason = blobFailureReason(err);
    if (reason === undefined || current !== undefined) return;
    current = { reason, code: (err as { code: string }).code, since: clock() };
    log.error(
      { code: current.code, reason, message: (err as Error).message },
      reason === 'full' ? 'blob storage is full: uploads fail until space is freed' : 'blob storage cannot be written',
    );
  };
  const check = async (): Promise<void> => {
    if (store.probe === undefined) return;
    try {
      await store.probe();
    } catch (err) {
      report(err);
      return;
    }
    if (current !== undefined) {
      log.warn(
        { code: current.code, reason: current.reason, lastedMs: clock() - current.since },
        'blob storage works again',
      );
      current = undefined;
    }
  };
  let running: Promise<void> | undefined;
  const tick = (): void => {
    running ??= check().finally(() => {
      running = undefined;
    });
  };
  const timer = setInterval(tick, probeMs);
  timer.unref();
  tick();
  const watched =
    <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      try {
        return await f(...a);
      } catch (err) {
        report(err);
        throw err;
      }
    };
  return {
    store: {
      ...store,
      create: watched(store.create.bind(store)),
      append: watched(store.append.bind(store)),
    },
    health: {
      failure: () => current,
      check: () => {
        tick();
        return running ?? Promise.resolve();
      },
      stop: () => clearInterval(timer),
    },
  };
}
