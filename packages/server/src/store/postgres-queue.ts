/**
 * Queue rows on PostgreSQL, shared by the message queue and the group store: depths with their
 * byte totals (queue caps), and bodies stored once for the many rows of a group message.
 */
import type pg from 'pg';
import { buf } from './postgres-db.ts';
import type { Row } from './rows.ts';
import type { QueueCaps } from './storage.ts';

/** The body column of a row whose body is stored once in `message_bodies`. */
export const EMPTY = Buffer.alloc(0);

/** A map key for one device's queue. */
export function depthKey(account: string, device: number): string {
  return `${account}\u0000${device}`;
}

/** A queue's depth: messages, and the bytes of their bodies. */
export interface QueueDepth {
  readonly messages: number;
  readonly bytes: number;
}

/** Whether one more message of `bytes` would pass a queue at `depth` (undefined: empty). */
export function atCap(depth: QueueDepth | undefined, bytes: number, caps: QueueCaps): boolean {
  const d = depth ?? { messages: 0, bytes: 0 };
  return d.messages >= caps.messages || d.bytes + bytes > caps.bytes;
}

/** Depths of the non-empty queues among `targets`, by `depthKey`. */
export async function queueDepths(
  c: pg.PoolClient,
  targets: readonly (readonly [string, number])[],
): Promise<Map<string, QueueDepth>> {
  const r = await c.query(
    `SELECT q.account, q.device, COUNT(*) AS n, COALESCE(SUM(q.size), 0) AS b FROM queue q
     JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::int[]) AS t(account, device)) t
       ON q.account = t.account AND q.device = t.device
     GROUP BY q.account, q.device`,
    [targets.map((t) => t[0]), targets.map((t) => t[1])],
  );
  return new Map(
    (r.rows as Row[]).map((x) => [
      depthKey(x.account as string, x.device as number),
      { messages: Number(x.n), bytes: Number(x.b) },
    ]),
  );
}

/** Stores bodies shared by several queue rows, in order; their ids in the same order. */
export async function storeBodies(c: pg.PoolClient, bodies: readonly Uint8Array[]): Promise<number[]> {
  if (bodies.length === 0) return [];
  const r = await c.query(
    `INSERT INTO message_bodies (body) SELECT b FROM unnest($1::bytea[]) WITH ORDINALITY AS t(b, ord) ORDER BY ord
     RETURNING id`,
    [bodies.map(buf)],
  );
  // Ids come from one sequence in insertion order, so ascending ids are the bodies in order.
  return (r.rows as Row[]).map((x) => Number(x.id)).sort((a, b) => a - b);
}

/** Deletes the shared bodies of just-deleted rows that no row references any more. */
export async function dropUnusedBodies(c: pg.PoolClient, deleted: readonly Row[]): Promise<void> {
  const ids = [...new Set(deleted.filter((r) => r.body_id !== null).map((r) => Number(r.body_id)))];
  if (ids.length === 0) return;
  await c.query(
    'DELETE FROM message_bodies b WHERE b.id = ANY($1::bigint[]) AND NOT EXISTS (SELECT 1 FROM queue q WHERE q.body_id = b.id)',
    [ids],
  );
}
