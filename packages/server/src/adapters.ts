/**
 * Opening the adapters a server runs on: storage (SQLite in the data directory, or PostgreSQL)
 * and the bus between nodes (in-process, NATS or Redis). The PostgreSQL, NATS and Redis drivers
 * are loaded by `import()` only when their URL is given, so a SQLite server never loads them
 * (test/adapters.test.ts checks the module graph of a default start).
 */
import type pg from 'pg';
import { type Bus, createLocalBus } from './bus/bus.ts';
import type { ServerOptions } from './options.ts';
import type { Migration } from './store/migrations.ts';
import { openSqliteStorage } from './store/sqlite-worker-storage.ts';
import type { Storage } from './store/storage.ts';

/**
 * Checks that `db` and `bus` go together before anything is opened: a bus needs PostgreSQL (nodes
 * share one database) and is a `nats://` or `redis://` URL.
 */
export function checkAdapterOptions(options: Pick<ServerOptions, 'db' | 'bus'>): void {
  if (options.bus === undefined) return;
  if (options.db === undefined) throw new Error('--bus needs --db postgres://… (nodes share one database)');
  if (!options.bus.startsWith('nats://') && !options.bus.startsWith('redis://'))
    throw new Error('--bus takes a nats:// or redis:// URL');
}

/** Opens the storage `options` name: PostgreSQL at `db` when given, else SQLite in `dataDir`. */
export async function openStorage(
  options: Pick<ServerOptions, 'db' | 'dbSchema' | 'dataDir' | 'sync'> & { sqliteMaxBytes?: number | undefined },
): Promise<Storage> {
  if (options.db === undefined)
    return openSqliteStorage(options.dataDir, options.sync, { maxBytes: options.sqliteMaxBytes });
  return openPostgresStorage(options.db, options.dbSchema === undefined ? {} : { schema: options.dbSchema });
}

/** Opens the bus at `url` (`nats://…` or `redis://…`), or the in-process bus of a single node when undefined. */
export async function openBus(url: string | undefined): Promise<Bus> {
  if (url === undefined) return createLocalBus();
  if (url.startsWith('nats://')) return (await import('./bus/nats-bus.ts')).openNatsBus(url);
  if (url.startsWith('redis://')) return (await import('./bus/redis-bus.ts')).openRedisBus(url);
  throw new Error('--bus takes a nats:// or redis:// URL');
}

/**
 * Connects to `url` (`postgres://…`), optionally inside `schema` (created if missing), migrates,
 * and returns the store. Loads the PostgreSQL driver on first use.
 */
export async function openPostgresStorage(url: string, options: { schema?: string } = {}): Promise<Storage> {
  return (await import('./store/postgres-storage.ts')).openPostgresStorage(url, options);
}

/** Applies every migration the database has not recorded, under an advisory lock (see postgres-storage.ts). */
export async function migratePostgres(pool: pg.Pool, migrations?: readonly Migration[]): Promise<number[]> {
  return (await import('./store/postgres-storage.ts')).migratePostgres(pool, migrations);
}
