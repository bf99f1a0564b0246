/**
 * The storage thread's entry point. It holds the open SQLite databases of this process (one for
 * a server; tests open several) and runs each call posted by `sqlite-worker-storage.ts`, one
 * after another in arrival order, answering each with its result or its error. Calls are
 * synchronous underneath (better-sqlite3), so each is atomic with respect to every other,
 * exactly as when the store ran on the event loop.
 */
import { parentPort } from 'node:worker_threads';
import { decodeEnqueue, type EnqueueColumns, encodeOutcomes } from './sqlite-batch-codec.ts';
import { checkFilesBeforeOpen, openChecked, writeState } from './sqlite-integrity.ts';
import { migrateSqlite } from './sqlite-migrate.ts';
import { createSqliteStorage, openSqliteDatabase } from './sqlite-storage.ts';
import type { QueueCaps, Storage } from './storage.ts';

/**
 * A call as the event loop posts it: id, database handle, method and arguments (`enqueue`'s batch
 * as `EnqueueColumns`). `open` takes the file, the `synchronous` setting and a size cap in bytes (or undefined).
 */
export type StorageCall = readonly [
  id: number,
  handle: number,
  method: keyof Storage | 'open',
  args: readonly unknown[],
];
/** An answer: the call's id, then its result, or its error's message and code. */
export type StorageAnswer =
  | readonly [id: number, ok: true, result: unknown]
  | readonly [id: number, ok: false, error: { message: string; code?: string }];

type Methods = Record<string, (...args: unknown[]) => Promise<unknown>>;

/** A store's methods as the thread runs them: `enqueue` packed (see sqlite-batch-codec.ts). */
function threadMethods(storage: Storage): Methods {
  return {
    ...(storage as unknown as Methods),
    async enqueue(columns: unknown, now: unknown, expiresAt: unknown, caps: unknown) {
      const { items, acks } = decodeEnqueue(columns as EnqueueColumns);
      const outcomes = await storage.enqueue(items, now as number, expiresAt as number, caps as QueueCaps, acks);
      return encodeOutcomes(outcomes);
    },
  };
}

const port = parentPort;
if (port === null) throw new Error('sqlite-worker.ts runs as a worker thread');
const open = new Map<number, Methods>();
/** The database file of each open handle (its state file is marked `closed` once it closes). */
const files = new Map<number, string>();

function run(handle: number, method: StorageCall[2], args: readonly unknown[]): Promise<unknown> {
  if (method === 'open') {
    const [file, sync, maxBytes, acceptLoss] = args as [string, 'full' | 'normal', number | undefined, boolean?];
    checkFilesBeforeOpen(file, acceptLoss === true);
    const db = openChecked(file, () => openSqliteDatabase(file, sync), migrateSqlite);
    files.set(handle, file);
    try {
      // A cap on the file's size: past it SQLite refuses writes with SQLITE_FULL, as on a full disk.
      if (maxBytes !== undefined)
        db.pragma(
          `max_page_count = ${Math.max(1, Math.floor(maxBytes / (db.pragma('page_size', { simple: true }) as number)))}`,
        );
    } catch (err) {
      db.close();
      throw err;
    }
    open.set(handle, threadMethods(createSqliteStorage(db)));
    return Promise.resolve(undefined);
  }
  const methods = open.get(handle);
  if (methods === undefined) throw new Error('this SQLite store is closed');
  const result = (methods[method] as (...a: unknown[]) => Promise<unknown>)(...args);
  if (method !== 'close') return result;
  open.delete(handle);
  const file = files.get(handle);
  files.delete(handle);
  // Written after the database is closed (its -wal written into it): a clean stop.
  return result.then(() => {
    if (file !== undefined) writeState(file, 'closed');
  });
}

port.on('message', ([id, handle, method, args]: StorageCall) => {
  // Every method runs its statements synchronously before its first await, so calls cannot
  // interleave: the next message is handled only after this one's transaction has committed.
  let answer: Promise<unknown>;
  try {
    answer = run(handle, method, args);
  } catch (err) {
    answer = Promise.reject(err);
  }
  answer.then(
    (result) => port.postMessage([id, true, result] satisfies StorageAnswer),
    (err: { message?: string; code?: string }) =>
      port.postMessage([
        id,
        false,
        { message: String(err?.message ?? err), ...(typeof err?.code === 'string' ? { code: err.code } : {}) },
      ] satisfies StorageAnswer),
  );
});
