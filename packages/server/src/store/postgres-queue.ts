/**
 * Queue rows on PostgreSQL, shared by the message queue and the group store: depths with their
 * byte totals, per device and per sending account (queue caps and fair shares), and bodies stored once for the many rows of a group message.
 */
import type pg from 'pg';
import { buf } from './postgres-db.ts';
import { heldToShare, type QueueDepth, queueCapReason } from './queue-caps.ts';
import type { Row } from './rows.ts';
import type { QueueCaps, QueueFullReason } from './storage.ts';

export type { QueueDepth } from './queue-caps.ts';

/** The body column of a row whose body is stored once in `message_bodies`. */
export const EMPTY = Buffer.alloc(0);

/** A map key for one device's queue. */
export function depthKey(account: string, device: number): string {
  return `${account}\u0000${device}`;
}

/** A map key for one sender's part of one device's queue. */
export function senderKey(account: string, device: number, sender: string): string {
  return `${account}\u0000${device}\u0000${sender}`;
}

/**
 * Why one more message of `bytes` from `sender` would not fit a device's queue, given the depths
 * read in this transaction (`queueDepths`, `senderDepths`; missing: empty). Undefined when it fits.
 */
export function atCap(
  depths: ReadonlyMap<string, QueueDepth>,
  senders: ReadonlyMap<string, QueueDepth>,
  to: { readonly account: string; readonly device: number },
  sender: string,
  bytes: number,
  caps: QueueCaps,
): QueueFullReason | undefined {
  const share = heldToShare(sender, to.account, caps)
    ? (senders.get(senderKey(to.account, to.device, sender)) ?? { messages: 0, bytes: 0 })
    : undefined;
  return queueCapReason(depths.get(depthKey(to.account, to.device)), share, bytes, caps);
}

/** Adds one message of `bytes` to a device's depth and to its sender's part (a batch's earlier items count). */
export function countQueued(
  depths: Map<string, QueueDepth>,
  senders: Map<string, QueueDepth>,
  to: { readonly account: string; readonly device: number },
  sender: string,
  bytes: number,
): void {
  for (const [map, k] of [
    [depths, depthKey(to.account, to.device)],
    [senders, senderKey(to.account, to.device, sender)],
  ] as const) {
    const d = map.get(k) ?? { messages: 0, bytes: 0 };
    map.set(k, { messages: d.messages + 1, bytes: d.bytes + bytes });
  }
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

/** What each sender of `targets` (device, sending account) holds of that device's queue, by `senderKey`. */
export async function senderDepths(
  c: pg.PoolClient,
  targets: readonly (readonly [string, number, string])[],
): Promise<Map<string, QueueDepth>> {
  if (targets.length === 0) return new Map();
  const r = await c.query(
    `SELECT q.account, q.device, q.sender, COUNT(*) AS n, COALESCE(SUM(q.size), 0) AS b FROM queue q
     JOIN (SELECT DISTINCT * FROM unnest($1::text[], $2::int[], $3::text[]) AS t(account, device, sender)) t
       ON q.account = t.account AND q.device = t.device AND q.sender = t.sender
     GROUP BY q.account, q.device, q.sender`,
    [targets.map((t) => t[0]), targets.map((t) => t[1]), targets.map((t) => t[2])],
  );
  return new Map(
    (r.rows as Row[]).map((x) => [
      senderKey(x.account as string, x.device as number, x.sender as string),
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
