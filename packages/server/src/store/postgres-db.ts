/**
 * node-postgres helpers shared by the PostgreSQL store's files: the transaction wrapper and the
 * Buffer view drivers want for BYTEA parameters.
 */
import type pg from 'pg';

/** A pool or one of its checked-out connections. */
export type Db = pg.Pool | pg.PoolClient;

/** A Buffer view of `b` (no copy), as node-postgres takes BYTEA parameters. */
export function buf(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Runs `fn` inside BEGIN … COMMIT on one pooled connection; rolls back if it throws. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const out = await fn(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}
