/**
 * `@parley/protocol/groups`: group messaging over MLS (RFC 9420, through ts-mls; docs/protocol.md
 * §14): group states and their stored records, KeyPackages, the commit policy. Kept out of
 * `@parley/protocol` because ts-mls is the largest thing the protocol loads (about 16 MB resident
 * and half the import time on Node.js 20) and one-to-one messaging and an idle relay use none of
 * it: the client and the server import this entry point on the first group operation. The
 * committed report `api/groups.api.md` lists these exports with their types.
 */
export {
  type CommitPolicy,
  commitGroupChange,
  createGroupState,
  decodeGroupMeta,
  encodeGroupMeta,
  type GroupChange,
  type GroupLeaf,
  type GroupMeta,
  type GroupState,
  groupClientConfig,
  groupLeaves,
  groupMetaOf,
  groupPosition,
  isExternalSenders,
  isRemoved,
  joinFromWelcome,
  leafAt,
  type OpenedGroupMessage,
  openGroupMessage,
  type PendingCommit,
  peekGroupMessage,
  readWelcome,
  sealGroupMessage,
} from './groups/group.ts';
export {
  decodeGroupRecord,
  encodeGroupRecord,
  encodeGroupRecordWithoutTree,
  encodeGroupTree,
} from './groups/group-record.ts';
export {
  type ClientConfig,
  type CreatedKeyPackage,
  checkKeyPackage,
  createKeyPackage,
  credentialFor,
  decodeKeyPackageMessage,
  decodePrivateKeys,
  deviceOfCredential,
  encodeKeyPackageMessage,
  GROUP_CIPHERSUITE,
  GROUP_META_EXTENSION,
  type GroupDevice,
  groupCapabilities,
  groupSuite,
  type KeyPackage,
  safeDecode,
} from './groups/mls.ts';
export { groupCommitPolicy } from './groups/policy.ts';
