/**
 * `blob-slot` (docs/protocol.md §16.5): an authenticated device asks for an upload slot of a
 * declared (padded) size; the answer carries the slot's id and upload token. Devices
 * authenticate here exactly as for every relay op (the challenge-response of §11), so the blob
 * HTTP API needs no login of its own: the token is the slot's credential.
 */
import type { RelayOps } from '@parley/protocol';
import type { Args } from './args.ts';
import { type OpContext, requireAuth } from './context.ts';

/** Hands out an upload slot (ATTACHMENT_TOO_LARGE, QUOTA_EXCEEDED). */
export async function blobSlot(a: Args, ctx: OpContext): Promise<RelayOps['blob-slot']['result']> {
  const me = requireAuth(ctx);
  return ctx.blobs.createSlot(me.account, me.device, a.u32('size'));
}
