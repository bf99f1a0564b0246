/**
 * The external services adapter tests use (PostgreSQL today). Locally, a service that is not
 * running makes those tests skip with a one-line reason; with PARLEY_REQUIRE_SERVICES=1 (set by
 * `.ci/run`) an unreachable service fails the run instead.
 */
import { connect } from 'node:net';
import pg from 'pg';

/** Where the PostgreSQL tests connect (database `test`, trust auth). */
export const POSTGRES_URL = process.env.PARLEY_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Undefined when PostgreSQL answers, else the reason to skip. Throws in CI. */
export async function postgresSkipReason(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    const reason = `PostgreSQL not reachable at ${POSTGRES_URL} (${(err as Error).message})`;
    if (process.env.PARLEY_REQUIRE_SERVICES === '1') throw new Error(`${reason}; CI requires it`);
    return reason;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Where the bus tests connect. */
export const NATS_URL = process.env.PARLEY_TEST_NATS ?? 'nats://127.0.0.1:4222';
export const REDIS_URL = process.env.PARLEY_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** Undefined when a TCP service answers at `url`'s host and port, else the reason to skip. Throws in CI. */
export async function tcpSkipReason(what: string, url: string): Promise<string | undefined> {
  const { hostname, port } = new URL(url);
  const ok = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setTimeout(2000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
  if (ok) return undefined;
  const reason = `${what} not reachable at ${url}`;
  if (process.env.PARLEY_REQUIRE_SERVICES === '1') throw new Error(`${reason}; CI requires it`);
  return reason;
}

/** Drops a test schema. */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
}
