/**
 * The key-transparency ops (docs/protocol.md §19): `kt-head` and `kt-lookup`, for authenticated
 * devices. Auditors use the HTTP endpoints (`/v1/kt/audit`, `/v1/kt/witness`, http-routes.ts).
 */
import type { KtLookupResult, RelayOps } from '@parley/protocol';
import { isServerError } from '../errors.ts';
import type { Args } from './args.ts';
import { type OpContext, requireAuth } from './context.ts';

/** `kt-head`: the latest signed head, with the log consistency proof from epoch `from`. */
export async function ktHead(a: Args, ctx: OpContext): Promise<RelayOps['kt-head']['result']> {
  requireAuth(ctx);
  return ctx.kt.head(a.optionalU32('from'));
}

/** `kt-lookup`: the VRF and map proofs of an account against the latest head. */
export async function ktLookup(a: Args, ctx: OpContext): Promise<RelayOps['kt-lookup']['result']> {
  requireAuth(ctx);
  return ctx.kt.lookup(a.accountName('name'));
}

/**
 * The `kt` field of a key answer: the account's lookup proof (docs/protocol.md §19), or nothing
 * while the directory has no head yet (the client then asks `kt-lookup` later).
 */
export async function ktField(ctx: OpContext, name: string): Promise<{ kt?: KtLookupResult }> {
  try {
    return { kt: await ctx.kt.lookup(name) };
  } catch (err) {
    if (isServerError(err, 'KT_UNAVAILABLE')) return {};
    throw err;
  }
}
