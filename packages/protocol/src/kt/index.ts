/**
 * `@parley/protocol/kt`: the key-transparency data structures (docs/protocol.md, "Key
 * transparency: log, map, tree heads"): the RFC 9162 log, the sparse Merkle map, signed tree heads,
 * and the verifiable random function that hides account names in the map (RFC 9381 ECVRF).
 */
export { KT_HASH_LENGTH, type KtHashFunction, ktSha256 } from './hash.ts';
export {
  LOG_MAX_PROOF_HASHES,
  LOG_MAX_SIZE,
  logConsistencyProof,
  logInclusionProof,
  logLeafHash,
  logNodeHash,
  logRoot,
  verifyLogConsistency,
  verifyLogInclusion,
} from './log.ts';
export {
  decodeMapProof,
  emptyMapRoot,
  encodeMapProof,
  MAP_PROOF_MAX_BYTES,
  MAP_PROOF_VERSION,
  type MapLookupResult,
  type MapNodeStore,
  type MapProof,
  type MapUpdate,
  MemoryMapNodeStore,
  mapBranchHash,
  mapLeafHash,
  mapNodeLabel,
  SparseMerkleMap,
  type StoredMapNode,
  verifyMapProof,
} from './map.ts';
export {
  decodeSignedTreeHead,
  decodeTreeHead,
  encodeSignedTreeHead,
  encodeTreeHead,
  SIGNED_TREE_HEAD_LENGTH,
  type SignedTreeHead,
  signTreeHead,
  TREE_HEAD_BODY_LENGTH,
  TREE_HEAD_SIGNATURE_LABEL,
  TREE_HEAD_VERSION,
  type TreeHead,
  treeHeadHash,
  verifyTreeHead,
} from './tree-head.ts';
export {
  DIRECTORY_VALUE_FORMAT,
  DIRECTORY_VALUE_LENGTH,
  type DirectoryValue,
  decodeDirectoryValue,
  directoryValueHash,
  encodeDirectoryValue,
} from './value.ts';
export {
  generateVrfKeyPair,
  KT_ACCOUNT_VRF_PREFIX,
  KT_MAP_KEY_LENGTH,
  ktAccountVrfInput,
  ktMapKey,
  VRF_OUTPUT_LENGTH,
  VRF_PROOF_LENGTH,
  VRF_PUBLIC_KEY_LENGTH,
  VRF_SECRET_KEY_LENGTH,
  type VrfKeyPair,
  vrfKeyPair,
  vrfProofToHash,
  vrfProve,
  vrfVerify,
} from './vrf.ts';
export {
  cosignTreeHead,
  verifyCosignature,
  WITNESS_COSIGNATURE_LABEL,
  witnessCosignatureMessage,
} from './witness.ts';
