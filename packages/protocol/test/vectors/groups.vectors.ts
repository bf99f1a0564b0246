/**
 * Known answers for the MLS-related encodings Parley defines itself (docs/protocol.md §14): the
 * basic credential naming a device, the group-metadata extension's data, and the record of a
 * KeyPackage's private keys. ts-mls's own encodings (KeyPackages, group state) are not frozen
 * here: they are RFC 9420's and ts-mls's, and ts-mls draws its own randomness.
 */

import { credentialFor, encodeGroupMeta } from '../../src/groups.ts';
import { type CryptoProvider, concatBytes } from '../../src/index.ts';
import { fixedBytes, fromHex, type Hex, toHex } from './kit.ts';

export const about =
  'The MLS encodings Parley defines itself: credential, metadata extension, KeyPackage private record (docs/protocol.md §14).';

export interface GroupsInputs {
  readonly credential: { readonly account: string; readonly device: number };
  readonly meta: { readonly name: string; readonly admins: readonly string[] };
  readonly keyPackagePrivate: { readonly initPrivateKey: Hex; readonly hpkePrivateKey: Hex };
}

export function makeInputs(): GroupsInputs {
  return {
    credential: { account: 'alice_w', device: 4294967295 },
    meta: { name: 'Family ☕ "quoted"', admins: ['alice_w', 'bob'] },
    keyPackagePrivate: {
      initPrivateKey: fixedBytes('groups/init-private-key', 32),
      hpkePrivateKey: fixedBytes('groups/hpke-private-key', 32),
    },
  };
}

/**
 * The credential identity and metadata come from the code. The private record's encoder is
 * internal to KeyPackage creation (which draws ts-mls's randomness), so its layout is written
 * out here — version 1 ‖ init private key ‖ HPKE private key — and the test decodes it.
 */
export async function build(_provider: CryptoProvider, inputs: GroupsInputs): Promise<Record<string, string>> {
  const k = inputs.keyPackagePrivate;
  const credential = credentialFor(inputs.credential.account, inputs.credential.device);
  if (credential.credentialType !== 'basic') throw new Error('expected a basic credential');
  return {
    credentialIdentity: toHex(credential.identity),
    groupMeta: toHex(encodeGroupMeta(inputs.meta)),
    keyPackagePrivateRecord: toHex(concatBytes(Uint8Array.of(1), fromHex(k.initPrivateKey), fromHex(k.hpkePrivateKey))),
  };
}
