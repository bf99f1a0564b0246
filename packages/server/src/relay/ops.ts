/**
 * The relay's operations (docs/protocol.md §11) as one table: each op name of the relay API
 * (`RelayOps` in @parley/protocol) maps to the handler that takes its checked `args` and the
 * connection's context and returns its `result`; refusals are `ServerError`s. The table's type
 * makes it exhaustive (an op without a handler does not compile) and checks each handler's
 * result against the API type; the frame validator knows an op by looking it up here, so the
 * op names are written once on each side of the wire.
 */
import type { RelayOp, RelayOps } from '@parley/protocol';
import { auth, deleteAccount, getAccount, register, updateDevices } from './account-ops.ts';
import { type Args, readArgs } from './args.ts';
import { blobSlot } from './blob-ops.ts';
import type { Deferred, OpContext } from './context.ts';
import { groupCommit, groupCreate, groupInfo, groupSend } from './group-ops.ts';
import { fetchKeyPackages, uploadKeyPackages } from './key-package-ops.ts';
import { ktHead, ktLookup } from './kt-ops.ts';
import { linkGet, linkOpen, linkSend } from './link-ops.ts';
import { fetchBundles, keyCount, uploadKeys } from './prekey-ops.ts';
import { send } from './send-ops.ts';

/** The handler of op `K`: its result now, or later (`Deferred`) once a batch has committed. */
export type Handler<K extends RelayOp> = (
  a: Args,
  ctx: OpContext,
) => Promise<RelayOps[K]['result'] | Deferred<RelayOps[K]['result']>>;

/** Every op of the relay API and its handler. */
export const OPS: { readonly [K in RelayOp]: Handler<K> } = {
  register,
  auth,
  'upload-keys': uploadKeys,
  'key-count': keyCount,
  'get-account': getAccount,
  'fetch-bundles': fetchBundles,
  send,
  'update-devices': updateDevices,
  'delete-account': deleteAccount,
  'link-open': linkOpen,
  'link-get': linkGet,
  'link-send': linkSend,
  'upload-key-packages': uploadKeyPackages,
  'fetch-key-packages': fetchKeyPackages,
  'group-create': groupCreate,
  'group-commit': groupCommit,
  'group-send': groupSend,
  'group-info': groupInfo,
  'blob-slot': blobSlot,
  'kt-head': ktHead,
  'kt-lookup': ktLookup,
};

/** Whether `name` is an op of the relay API (one the table has a handler for). */
export function isRelayOp(name: string): name is RelayOp {
  return Object.hasOwn(OPS, name);
}

/** Runs one operation. */
export function runOp<K extends RelayOp>(
  op: K,
  rawArgs: unknown,
  ctx: OpContext,
): Promise<RelayOps[K]['result'] | Deferred<RelayOps[K]['result']>> {
  const handler: Handler<K> = OPS[op];
  return handler(readArgs(rawArgs), ctx);
}
