/**
 * Witness cosignatures of tree heads (docs/protocol.md §19): an auditor that verified a head signs
 * `"parley-kt-v1 witness cosignature" ‖ 0x00 ‖ body` with its own Ed25519 key, where `body` is the
 * head's 121-byte body (§17.3). A cosignature says "I checked this head against every earlier one".
 */
import { concatBytes, utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { encodeTreeHead, type TreeHead } from './tree-head.ts';

/** Domain label of a witness cosignature. */
export const WITNESS_COSIGNATURE_LABEL = 'parley-kt-v1 witness cosignature';

/** The bytes a witness signs for `head`. */
export function witnessCosignatureMessage(head: TreeHead): Uint8Array {
  return concatBytes(utf8(WITNESS_COSIGNATURE_LABEL), new Uint8Array([0]), encodeTreeHead(head));
}

/** Signs `head` with a witness's 32-byte Ed25519 seed. */
export function cosignTreeHead(crypto: CryptoProvider, seed: Uint8Array, head: TreeHead): Promise<Uint8Array> {
  return crypto.ed25519Sign(seed, witnessCosignatureMessage(head));
}

/** Whether `signature` is `witnessKey`'s cosignature of `head`. */
export function verifyCosignature(
  crypto: CryptoProvider,
  witnessKey: Uint8Array,
  head: TreeHead,
  signature: Uint8Array,
): Promise<boolean> {
  if (witnessKey.length !== 32 || signature.length !== 64) return Promise.resolve(false);
  return crypto.ed25519Verify(witnessKey, witnessCosignatureMessage(head), signature);
}
