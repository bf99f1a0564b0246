/**
 * `@parley/protocol/kt`: key transparency (issue 20). For now the verifiable random function
 * that hides account names in the directory's map (ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381;
 * docs/protocol.md §17). A separate entry so hosts that do not audit the directory never load
 * it. The committed report `api/kt.api.md` lists these exports with their types.
 */
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
} from './kt/vrf.ts';
