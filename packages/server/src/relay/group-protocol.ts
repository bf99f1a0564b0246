/**
 * The group half of the protocol (`@parley/protocol/groups`: MLS through ts-mls), imported when
 * the relay first checks a KeyPackage rather than when the server starts. The relay reads no
 * other MLS, and ts-mls is the largest thing the protocol loads (about 16 MB resident), so an
 * idle server, or one whose clients use no groups, never holds it. test/lazy-groups.test.ts
 * fails if a value import of it comes back.
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
