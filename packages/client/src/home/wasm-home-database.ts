/**
 * The home database in browsers: SQLite compiled to WebAssembly (`@sqlite.org/sqlite-wasm`),
 * in memory, with its whole image saved through an `ImageStore` (IndexedDB in browsers) after
 * every committed write. The SDK's SQL runs unchanged; only durability differs from Node:
 * a write is durable once `durable()` resolves, and the relay link waits on that before it
 * sends anything (see `whenDurable` in database.ts).
 *
 * Saving the whole image is simple and, at the sizes a home reaches (hundreds of KB: mostly
 * prekeys), a few milliseconds; writes made while a save runs are coalesced into the next.
 */
import type { Database, PreparedStatement, Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import type { DurableHomeDatabase, HomeDatabase, HomeStatement, HomeTransaction } from './database.ts';
import { migrateHomeDatabase } from './database.ts';

/** Where a database image lives between page loads. */
export interface ImageStore {
  /** The saved image, or undefined for a new home. */
  load(): Promise<Uint8Array | undefined>;
  save(image: Uint8Array): Promise<void>;
}

/** An image store in memory (tests, and a home that must not outlive the page). */
export function createMemoryImageStore(initial?: Uint8Array): ImageStore & { image(): Uint8Array | undefined } {
  let image = initial;
  return {
    load: async () => image,
    save: async (i) => {
      image = i;
    },
    image: () => image,
  };
}

const bindable = (params: unknown[]): (number | bigint | string | Uint8Array | null)[] =>
  params.map((p) => {
    if (p === undefined || p === null) return null;
    if (typeof p === 'boolean') return p ? 1 : 0;
    return p as number | bigint | string | Uint8Array;
  });

/**
 * Opens a home from `store` (migrating it) on an initialised sqlite3 module. `onSaveError`
 * hears a failed save (e.g. storage quota); `durable()` rejects until a later save succeeds.
 */
export async function openWasmHomeDatabase(
  sqlite3: Sqlite3Static,
  store: ImageStore,
): Promise<Omit<DurableHomeDatabase, 'durable'> & { durable(): Promise<void>; image(): Uint8Array }> {
  const { capi, wasm, oo1 } = sqlite3;
  const db: Database = new oo1.DB(':memory:', 'c');
  const saved = await store.load();
  if (saved !== undefined && saved.length > 0) {
    const p = wasm.allocFromTypedArray(saved);
    const rc = capi.sqlite3_deserialize(
      db.pointer as number,
      'main',
      p,
      saved.length,
      saved.length,
      capi.SQLITE_DESERIALIZE_FREEONCLOSE | capi.SQLITE_DESERIALIZE_RESIZEABLE,
    );
    if (rc !== 0) {
      db.close();
      throw new Error(`the saved home database could not be opened (SQLite code ${rc})`);
    }
  }

  // Prepared once per SQL text: the SDK prepares some statements inside functions called often.
  const cache = new Map<string, PreparedStatement>();
  let savepoints = 0;
  let closed = false;

  // Durability: `version` counts observed writes, `savedVersion` the last one saved.
  let version = 0;
  let savedVersion = 0;
  let lastTotal = capi.sqlite3_total_changes(db.pointer as number);
  let saving: Promise<void> | undefined;
  let scheduled = false;

  const saveOnce = async (): Promise<void> => {
    const v = version;
    const image = capi.sqlite3_js_db_export(db.pointer as number);
    await store.save(image);
    savedVersion = Math.max(savedVersion, v);
  };
  const durable = async (): Promise<void> => {
    while (savedVersion < version) {
      saving ??= saveOnce().finally(() => {
        saving = undefined;
      });
      await saving;
    }
  };
  const noteWrite = (force = false): void => {
    const total = capi.sqlite3_total_changes(db.pointer as number);
    if (!force && total === lastTotal) return;
    lastTotal = total;
    version++;
    // Saved after the current synchronous work (and so after any transaction around it) commits.
    if (!scheduled && capi.sqlite3_get_autocommit(db.pointer as number) !== 0) {
      scheduled = true;
      setTimeout(() => {
        scheduled = false;
        // A failed save leaves `savedVersion` behind, so the next `durable()` — which the relay
        // link awaits before any frame leaves — saves again and gives its caller the error.
        durable().catch(() => {});
      }, 0);
    }
  };

  const statement = (sql: string): PreparedStatement => {
    if (closed) throw new Error('the home database is closed');
    let s = cache.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };

  const rows = (sql: string, params: unknown[], pluck: boolean, limit: number): unknown[] => {
    const s = statement(sql);
    const out: unknown[] = [];
    try {
      if (params.length > 0) s.bind(bindable(params));
      // `run` (limit 0) still steps to completion; `get` stops after the first row.
      while (s.step()) {
        if (out.length < limit) out.push(pluck ? s.get(0) : s.get({}));
        else if (limit > 0) break;
      }
    } finally {
      s.reset(true);
      noteWrite();
    }
    return out;
  };

  const prepare = (sql: string): HomeStatement => {
    statement(sql); // Fails now on bad SQL, as better-sqlite3 does.
    let pluck = false;
    const api: HomeStatement = {
      run(...params) {
        const before = capi.sqlite3_total_changes(db.pointer as number);
        rows(sql, params, false, 0);
        // Rows this statement changed, not counting what its triggers did (the search index's), as
        // better-sqlite3 counts: `sqlite3_changes` holds the last INSERT/UPDATE/DELETE's count,
        // stale after any other statement, so it is read only when something changed.
        const changed = capi.sqlite3_total_changes(db.pointer as number) !== before;
        return { changes: changed ? capi.sqlite3_changes(db.pointer as number) : 0 };
      },
      get: (...params) => rows(sql, params, pluck, 1)[0],
      all: (...params) => rows(sql, params, pluck, Number.POSITIVE_INFINITY),
      pluck() {
        pluck = true;
        return api;
      },
    };
    return api;
  };

  const exec = (sql: string): void => {
    db.exec(sql);
    noteWrite(true);
  };

  const transaction: HomeDatabase['transaction'] = <F extends (...args: never[]) => unknown>(fn: F) => {
    const run = (begin: string, args: unknown[]): ReturnType<F> => {
      // Nested calls become savepoints, as in better-sqlite3.
      const outer = capi.sqlite3_get_autocommit(db.pointer as number) !== 0;
      const name = `sp${++savepoints}`;
      db.exec(outer ? begin : `SAVEPOINT ${name}`);
      try {
        const result = fn(...(args as Parameters<F>)) as ReturnType<F>;
        db.exec(outer ? 'COMMIT' : `RELEASE ${name}`);
        return result;
      } catch (err) {
        if (capi.sqlite3_get_autocommit(db.pointer as number) === 0) {
          db.exec(outer ? 'ROLLBACK' : `ROLLBACK TO ${name}; RELEASE ${name}`);
        }
        throw err;
      } finally {
        savepoints--;
        if (outer) noteWrite(true);
      }
    };
    return Object.assign((...args: unknown[]) => run('BEGIN', args), {
      immediate: (...args: unknown[]) => run('BEGIN IMMEDIATE', args),
    }) as unknown as HomeTransaction<F>;
  };

  migrateHomeDatabase({ prepare, exec, transaction, close: () => {} });
  await durable();

  return {
    prepare,
    exec,
    transaction,
    durable,
    image: () => capi.sqlite3_js_db_export(db.pointer as number),
    close() {
      if (closed) return;
      closed = true;
      // Callers await `durable()` first (and hear its errors); this only keeps a write made since
      // from being lost, best effort, as the database is going away and no one is left to tell.
      if (savedVersion < version) void store.save(capi.sqlite3_js_db_export(db.pointer as number)).catch(() => {});
      for (const s of cache.values()) s.finalize();
      cache.clear();
      db.close();
    },
  };
}
