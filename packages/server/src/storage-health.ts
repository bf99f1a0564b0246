/**
 * Whether the server's storage can write, as the requests find out, and what a refused request
 * is told. A full disk (SQLite's `SQLITE_FULL`, PostgreSQL's `53100 disk_full`, `ENOSPC`) or an
 * I/O failure of the database is not a bug of the request that met it: the request is refused
 * with the retryable `STORAGE_UNAVAILABLE {retryAfterMs, reason}` instead of `INTERNAL`, the log
 * says so once when the condition starts and once when it is over — a write has succeeded and
 * none was refused for `STORAGE_RECOVERY_QUIET_MS` (not once per
 * request: a full disk under load refused about 160 requests a second), and `/healthz` answers
 * 503 with the reason meanwhile.
 *
 * `watchStorage` wraps the store every other module uses, so every storage call reports here.
 */
import type { StorageUnavailableDetails } from '@parley/protocol';
import type { Logger } from 'pino';
import { ServerError } from './errors.ts';
import type { Storage } from './store/storage.ts';

/** How long a refused client waits before it sends again (the hint in the refusal's details). */
export const STORAGE_RETRY_AFTER_MS = 5000;

/**
 * How long writes must go without a refusal, after one has succeeded, before the condition is
 * over. A nearly full disk takes small writes and refuses large ones: without this the log would
 * say "full", "works again", "full"… once per request again.
 */
export const STORAGE_RECOVERY_QUIET_MS = 10_000;

/**
 * How long after the last refusal `/healthz` still reports the condition when no write has
 * succeeded since. Recovery is seen at the first write that succeeds; but a load balancer that
 * takes a 503 node out of rotation would keep every write away, so with no refusal for this long
 * health answers ok again and lets requests find out (the log still says when writes work again).
 */
export const STORAGE_HEALTH_HOLD_MS = 30_000;

/** The storage condition `/healthz` reports while it lasts. */
export interface StorageFailure {
  readonly reason: StorageUnavailableDetails['reason'];
  /** The driver's error code (`SQLITE_FULL`, `53100`, …). */
  readonly code: string;
  /** When the condition began (the server's clock). */
  readonly since: number;
}

/** The storage's health as the requests have found it. */
export interface StorageHealth {
  /**
   * The failure that lasts now, or undefined while storage writes (or when nothing was refused
   * for `STORAGE_HEALTH_HOLD_MS`).
   */
  failure(): StorageFailure | undefined;
  /** Refusals since the condition began (logged when it ends). */
  refusedCount(): number;
}

/**
 * The store's writes: only a write that succeeds shows storage has recovered (a full disk still
 * serves reads). A method not named here (a newer one) counts as a read.
 */
const WRITES: ReadonlySet<string> = new Set<keyof Storage>([
  'createAccount',
  'createInvite',
  'updateDeviceList',
  'deleteAccount',
  'storePreKeys',
  'takeBundle',
  'enqueue',
  'acknowledge',
  'storeKeyPackages',
  'takeKeyPackage',
  'createGroup',
  'commitGroup',
  'openLinkChannel',
  'answerLinkChannel',
  'closeLinkChannel',
]);

/** SQLite, PostgreSQL and system error codes that mean "no space" and "storage failed", not a bug. */
const FULL_CODES = new Set(['SQLITE_FULL', 'ENOSPC', 'EDQUOT', '53100']);
const IO_CODE = /^(SQLITE_IOERR(_\w+)?|EIO|EROFS|SQLITE_READONLY(_\w+)?|53000|58030)$/;

/** Which storage condition `err` is, by its driver's code; undefined for any other error. */
export function storageFailureReason(err: unknown): StorageUnavailableDetails['reason'] | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (FULL_CODES.has(code)) return 'full';
  return IO_CODE.test(code) ? 'io' : undefined;
}

/**
 * Wraps every method of `storage` (except `close`): a call that fails with a storage condition
 * throws `STORAGE_UNAVAILABLE` (and the first such failure is logged at error level); the first
 * call that succeeds after one logs the recovery. Returns the wrapped store and its health.
 */
export function watchStorage(
  storage: Storage,
  log: Logger,
  clock: () => number,
): { storage: Storage; health: StorageHealth } {
  let current: StorageFailure | undefined;
  let refused = 0;
  let lastRefusal = 0;
  let lastSuccess = 0;
  let settling: ReturnType<typeof setTimeout> | undefined;
  /** Ends the condition once a write has succeeded after the last refusal and the quiet time has passed. */
  const settle = (): void => {
    settling = undefined;
    if (current === undefined || lastSuccess <= lastRefusal) return;
    const left = lastRefusal + STORAGE_RECOVERY_QUIET_MS - clock();
    if (left > 0) {
      settling = setTimeout(settle, left);
      settling.unref();
      return;
    }
    log.warn(
      { code: current.code, reason: current.reason, refused, lastedMs: clock() - current.since },
      'storage works again',
    );
    current = undefined;
    refused = 0;
  };
  const failed = (err: unknown): never => {
    const reason = storageFailureReason(err);
    if (reason === undefined) throw err;
    refused++;
    lastRefusal = clock();
    if (current === undefined) {
      current = { reason, code: (err as { code: string }).code, since: clock() };
      log.error(
        { code: current.code, reason, message: (err as Error).message },
        reason === 'full'
          ? 'storage is full: requests that write are refused with STORAGE_UNAVAILABLE until space is freed'
          : 'storage failed: requests are refused with STORAGE_UNAVAILABLE until it works again',
      );
    }
    throw new ServerError('STORAGE_UNAVAILABLE', 'the server could not store this request; try again later', {
      retryAfterMs: STORAGE_RETRY_AFTER_MS,
      reason,
    } satisfies StorageUnavailableDetails);
  };
  const succeeded = (): void => {
    if (current === undefined) return;
    lastSuccess = clock();
    if (settling === undefined) settle();
  };
  // One wrapper per method, made on first use (the hot path asks for the same few methods).
  const wrappers = new Map<string | symbol, unknown>();
  const wrapped = new Proxy(storage, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'close') return value;
      const made = wrappers.get(prop);
      if (made !== undefined) return made;
      const write = typeof prop === 'string' && WRITES.has(prop);
      const wrapper = (...args: unknown[]) => {
        let result: unknown;
        try {
          result = (value as (...a: unknown[]) => unknown).apply(target, args);
        } catch (err) {
          return failed(err);
        }
        if (!(result instanceof Promise)) {
          if (write) succeeded();
          return result;
        }
        return result.then(
          (r) => {
            if (write) succeeded();
            return r;
          },
          (err) => failed(err),
        );
      };
      wrappers.set(prop, wrapper);
      return wrapper;
    },
  });
  const failure = (): StorageFailure | undefined =>
    current !== undefined && clock() - lastRefusal < STORAGE_HEALTH_HOLD_MS ? current : undefined;
  return { storage: wrapped, health: { failure, refusedCount: () => refused } };
}
