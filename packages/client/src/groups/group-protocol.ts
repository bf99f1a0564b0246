/**
 * The group half of the protocol (`@parley/protocol/groups`: MLS through ts-mls), imported on
 * the first group operation rather than with the client. ts-mls is the largest thing the
 * protocol loads (about half of the client's import time on Node.js 20) and a client that only
 * sends and receives one-to-one messages never needs it. Types come from that entry point with
 * `import type`, which loads nothing; test/lazy-groups.test.ts fails if a value import of it
 * comes back.
 */
import type * as groupProtocol from '@parley/protocol/groups';

/** The `@parley/protocol/groups` module. */
export type GroupProtocol = typeof groupProtocol;

let loading: Promise<GroupProtocol> | undefined;

/** Imports `@parley/protocol/groups` once per process; a failed import is tried again next time. */
export function loadGroupProtocol(): Promise<GroupProtocol> {
  loading ??= import('@parley/protocol/groups').catch((err: unknown) => {
    loading = undefined;
    throw err;
  });
  return loading;
}
