/**
 * `@parley/protocol/names`: the account-name rules alone (bounds, characters, the confusable
 * skeleton), for code that needs them without the rest of the protocol: the relay's SQLite
 * storage thread fills stored skeletons with `accountNameSkeleton` and otherwise uses nothing of
 * `@parley/protocol`, whose main entry would load the crypto core (noble ML-KEM and curves) into
 * that thread's own V8 heap, about 1 MB of an idle server's memory (issue 18). The same
 * functions as `@parley/protocol`'s, from the same module. The committed report
 * `api/names.api.md` lists these exports with their types.
 */
export {
  ACCOUNT_NAME_CHARACTERS,
  ACCOUNT_NAME_MAX_LENGTH,
  ACCOUNT_NAME_MIN_LENGTH,
  ACCOUNT_NAME_PATTERN,
  accountNameSkeleton,
  NAME_SKELETON_RULE,
} from './relay/frames.ts';
