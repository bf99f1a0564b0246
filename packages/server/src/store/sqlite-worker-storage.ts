/**
 * `openSqliteStorage`: the SQLite store as the server uses it, run on a storage thread.
 *
 * better-sqlite3 is synchronous: on the event loop, every statement and every commit's fsync
 * (`synchronous = FULL`) stalled all connections. Here one worker thread per process owns the
 * database connections and runs the calls in the order they are made (`sqlite-worker.ts`); the
 * event loop only posts calls and reads answers, and keeps reading frames meanwhile. While one
 * batch commits, the hub collects the next, so commits group themselves by load. A second
 * thread per database, with its own connection, checkpoints the WAL (PASSIVE, never blocking
 * the writer).
 *
 * One read stays on the event loop: `deviceSet`, asked by every send, is cached here and
 * dropped when an account is created or its device list is replaced (the only writes that
 * change devices), so a send costs no round trip to the storage thread.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { decodeOutcomes, type EncodedOutcome, encodeEnqueue } from './sqlite-batch-codec.ts';
import { SQLITE_FILE } from './sqlite-migrate.ts';
import type { StorageAnswer, StorageCall } from './sqlite-worker.ts';
import type { Storage } from './storage.ts';

/**
 * Every `Storage` method the storage thread answers (the compiler checks none is missing), and
 * whether a call of it is a write that wakes the checkpoint thread. The periodic housekeeping
 * (`purgeExpired`, `takeLinkAnswers`) counts as a read: what little it deletes is checkpointed
 * with the next real write, or at close.
 */
const FORWARDED: Record<Exclude<keyof Storage, 'close'>, 'read' | 'write'> = {
  createAccount: 'write',
  getAccount: 'read',
  listDevices: 'read',
  deviceSet: 'read',
  createInvite: 'write',
  rotateAuthToken: 'write',
  updateDeviceList: 'write',
  deleteAccount: 'write',
  storePreKeys: 'write',
  countPreKeys: 'read',
  takeBundle: 'write',
  enqueue: 'write',
  pending: 'read',
  acknowledge: 'write',
  purgeExpired: 'read',
  queueDepth: 'read',
  totalQueueDepth: 'read',
  storedQueueBytes: 'read',
  queueRecords: 'read',
  storeKeyPackages: 'write',
  countKeyPackages: 'read',
  takeKeyPackage: 'write',
  createGroup: 'write',
  getGroup: 'read',
  commitGroup: 'write',
  groupsOf: 'read',
  openLinkChannel: 'write',
  getLinkChannel: 'read',
  answerLinkChannel: 'write',
  closeLinkChannel: 'write',
  takeLinkAnswers: 'read',
  ktRecordKeys: 'write',
  ktLoad: 'read',
  ktHeads: 'read',
  ktLastEpoch: 'read',
  ktUpdates: 'read',
  ktPending: 'read',
  ktCandidates: 'read',
  ktClaimWriter: 'write',
  ktCommitEpoch: 'write',
  ktValue: 'read',
  ktAddCosignature: 'write',
  ktCosignatures: 'read',
};

/**
 * Opens (creating if needed) the database in `dataDir` on the storage thread, checks it
 * (`sqlite-integrity.ts`: a lost, damaged or newer database is refused with a
 * `DatabaseCheckError`'s message and code), migrates it, and starts its checkpoint thread;
 * resolves once the database is open and migrated. `maxBytes` caps the file's size;
 * `acceptLoss` starts on a database whose -wal file was lost after a crash.
 */
export async function openSqliteStorage(
  dataDir: string,
  sync: 'full' | 'normal',
  options: { readonly maxBytes?: number | undefined; readonly acceptLoss?: boolean } = {},
): Promise<Storage> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, SQLITE_FILE);
  const thread = storageThread();
  const handle = thread.nextHandle++;
  await thread.call(handle, 'open', [file, sync, options.maxBytes, options.acceptLoss === true], []);
  const checkpointer = createCheckpointer(file, CHECKPOINT_INTERVAL_MS, CHECKPOINTER_IDLE_MS);
  const call = <T>(method: StorageCall[2], args: readonly unknown[], transfer: ArrayBuffer[] = []): Promise<T> => {
    if (method !== 'close' && method !== 'open' && FORWARDED[method as keyof typeof FORWARDED] === 'write')
      checkpointer.wake();
    return thread.call(handle, method, args, transfer) as Promise<T>;
  };

  const forwarded = Object.fromEntries(
    Object.keys(FORWARDED).map((m) => [m, (...args: unknown[]) => call(m as keyof Storage, args)]),
  ) as unknown as Omit<Storage, 'close'>;

  const deviceSets = new Map<string, Awaited<ReturnType<Storage['deviceSet']>>>();
  return {
    ...forwarded,
    async deviceSet(name) {
      const cached = deviceSets.get(name);
      if (cached !== undefined) return cached;
      // Calls are answered in order: a set read before a device write lands here before that
      // write's answer, which drops it again (below).
      const set = await forwarded.deviceSet(name);
      // Unknown names are not cached: a registration must be seen at once.
      if (set.length > 0) deviceSets.set(name, set);
      return set;
    },
    async createAccount(account, inviteHash) {
      deviceSets.delete(account.name);
      try {
        return await forwarded.createAccount(account, inviteHash);
      } finally {
        deviceSets.delete(account.name);
      }
    },
    async updateDeviceList(name, expectedVersion, list) {
      deviceSets.delete(name);
      try {
        return await forwarded.updateDeviceList(name, expectedVersion, list);
      } finally {
        deviceSets.delete(name);
      }
    },
    async deleteAccount(name, accountKey) {
      deviceSets.delete(name);
      try {
        return await forwarded.deleteAccount(name, accountKey);
      } finally {
        deviceSets.delete(name);
      }
    },
    async enqueue(items, now, expiresAt, caps, acks = []) {
      const columns = encodeEnqueue(items, acks);
      const transfer = [columns.bodies.buffer, columns.bodyEnds.buffer] as ArrayBuffer[];
      const encoded = await call<EncodedOutcome[]>('enqueue', [columns, now, expiresAt, caps], transfer);
      return decodeOutcomes(items, encoded);
    },
    async close() {
      await checkpointer.terminate();
      // Answered after every call made before it. The last connection to close checkpoints the
      // remaining WAL into the database file.
      await call('close', []);
    },
  };
}

/** The process's storage thread: posts calls, matches answers, holds the process only while a call waits. */
interface StorageThread {
  nextHandle: number;
  call(handle: number, method: StorageCall[2], args: readonly unknown[], transfer: ArrayBuffer[]): Promise<unknown>;
}

let shared: StorageThread | undefined;

function storageThread(): StorageThread {
  if (shared !== undefined) return shared;
  const worker = startModuleWorker('./sqlite-worker');
  const waiting = new Map<number, { resolve(value: unknown): void; reject(err: unknown): void }>();
  let nextId = 0;
  // Idle, the thread does not keep the process alive (as an idle synchronous database would not).
  worker.unref();
  const settle = (id: number) => {
    const w = waiting.get(id);
    waiting.delete(id);
    if (waiting.size === 0) worker.unref();
    return w;
  };
  worker.on('message', (answer: StorageAnswer) => {
    const w = settle(answer[0]);
    if (answer[1]) w?.resolve(answer[2]);
    else {
      const { message, code } = answer[2];
      w?.reject(Object.assign(new Error(message), code === undefined ? {} : { code }));
    }
  });
  const fail = (err: Error) => {
    // A thread that failed is replaced on the next open; its stores stay failed.
    if (shared === thread) shared = undefined;
    for (const id of [...waiting.keys()]) settle(id)?.reject(err);
  };
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('the SQLite storage thread has stopped')));
  const thread: StorageThread = {
    nextHandle: 0,
    call: (handle, method, args, transfer) =>
      new Promise((resolve, reject) => {
        if (shared !== thread) {
          reject(new Error('the SQLite storage thread has stopped'));
          return;
        }
        const id = nextId++;
        if (waiting.size === 0) worker.ref();
        waiting.set(id, { resolve, reject });
        worker.postMessage([id, handle, method, args] satisfies StorageCall, transfer);
      }),
  };
  shared = thread;
  return thread;
}

/**
 * Starts a worker thread on the module `name` beside this one. Compiled (the release build,
 * `dist/`), that is `name.js`, which Node loads by itself. Run from the TypeScript sources (tests
 * and benchmarks, through tsx), it is `name.ts`, and the worker inherits no loader hook, so its
 * first act is to register tsx (about half a second of CPU once per process, hence one storage
 * thread per process). The release build never loads tsx.
 */
function startModuleWorker(name: string): Worker {
  const compiled = import.meta.url.endsWith('.js');
  const entry = new URL(`${name}${compiled ? '.js' : '.ts'}`, import.meta.url);
  if (compiled) return new Worker(entry);
  let tsx: string | undefined;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    tsx = undefined; // a runtime that loads TypeScript by itself
  }
  const boot = `
    const { workerData } = require('node:worker_threads');
    const ready = workerData.tsx === undefined ? Promise.resolve() : import(workerData.tsx).then((api) => api.register());
    ready.then(() => import(workerData.entry));
  `;
  return new Worker(boot, { eval: true, workerData: { tsx, entry: entry.href } });
}

const CHECKPOINTER = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
setInterval(() => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {} }, workerData.intervalMs);
`;

/** How often the checkpoint thread checkpoints while it runs. */
const CHECKPOINT_INTERVAL_MS = 200;
/** How long after a checkpoint thread failed to start the next write may start one again. */
const CHECKPOINTER_RETRY_MS = 5_000;
/** How long the checkpoint thread outlives the last write (it is started again by the next). */
const CHECKPOINTER_IDLE_MS = 30_000;

/** The checkpoint thread of one database, running only while there are writes to checkpoint. */
export interface Checkpointer {
  /** A write is on its way: starts the thread if it is not running, and keeps it for `idleMs` more. */
  wake(): void;
  /** Whether the thread is running now. */
  running(): boolean;
  /** Stops the thread (for good when the store closes). */
  terminate(): Promise<void>;
}

/**
 * The WAL checkpoint thread: PASSIVE checkpoints every `intervalMs` on its own connection, from
 * the first write until `idleMs` after the last. An idle server holds no such thread (a worker
 * thread is about 8 MB resident; `npm run bench -- startup`), and a WAL grows only with writes,
 * each of which wakes it first.
 */
export function createCheckpointer(file: string, intervalMs: number, idleMs: number): Checkpointer {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  let worker: Worker | undefined;
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  let lastWake = 0;
  /** After a thread failed to start, none is started again before this time (ms). */
  let retryAt = 0;
  const stop = async (): Promise<void> => {
    clearTimeout(idleTimer);
    idleTimer = undefined;
    const w = worker;
    worker = undefined;
    await w?.terminate();
  };
  const armIdle = (): void => {
    idleTimer = setTimeout(() => {
      // Woken again meanwhile: wait out the rest of the quiet spell from that wake.
      if (Date.now() - lastWake < idleMs) armIdle();
      else void stop();
    }, idleMs);
    idleTimer.unref();
  };
  return {
    wake() {
      lastWake = Date.now();
      if (worker !== undefined || lastWake < retryAt) return;
      const w = new Worker(CHECKPOINTER, { eval: true, workerData: { file, module, intervalMs } });
      // A thread that cannot start (no file descriptor left to load its code: EMFILE) must not
      // take the server down: the WAL waits, and a write after a pause starts the thread again.
      w.on('error', () => {
        if (worker !== w) return;
        worker = undefined;
        clearTimeout(idleTimer);
        idleTimer = undefined;
        retryAt = Date.now() + CHECKPOINTER_RETRY_MS;
      });
      worker = w;
      w.unref();
      armIdle();
    },
    running: () => worker !== undefined,
    terminate: stop,
  };
}
