/**
 * The group half of the protocol (`@parley/protocol/groups`: MLS through ts-mls), imported on
 * first use instead of with the protocol. ts-mls is the largest thing the protocol loads (about
 * 16 MB resident, and half of the client's import time on Node.js 20), and a client that only
 * sends one-to-one messages, or a relay whose clients use no groups, never needs it. Types come
 * from that entry point with `import type`, which loads nothing; the client's and the server's
 * test/lazy-groups.test.ts fail if a value import of it comes back.
 */
import type * as groupProtocol from '../groups.ts';

/** The `@parley/protocol/groups` module. */
export type GroupProtocol = typeof groupProtocol;

let loading: Promise<GroupProtocol> | undefined;

/** Imports `@parley/protocol/groups` once per process; a failed import is tried again next time. */
export function loadGroupProtocol(): Promise<GroupProtocol> {
  loading ??= import('../groups.ts').catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}
