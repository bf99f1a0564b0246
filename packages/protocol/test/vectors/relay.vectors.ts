/**
 * Known answers for the one binary layout of the relay API (docs/protocol.md §11): the bytes a
 * device signs to answer a challenge, and the (deterministic, RFC 8032) Ed25519 signature of a
 * fixed device key over them — for an authenticating device and for a registration (device 0).
 * The frames themselves are JSON and have no binary encoding to freeze.
 */
import { authSignedBytes, type CryptoProvider } from '../../src/index.ts';
import { fixedBytes, fromHex, type Hex, toHex } from './kit.ts';

export const about =
  'The bytes a device signs to answer a relay challenge, and their signature (docs/protocol.md §11).';

export interface RelayInputs {
  readonly nonce: Hex;
  readonly name: string;
  readonly device: number;
  readonly signingSeed: Hex;
}

export function makeInputs(): RelayInputs {
  return {
    nonce: fixedBytes('relay/nonce', 32),
    name: 'alice.w',
    device: 3,
    signingSeed: fixedBytes('relay/device', 32),
  };
}

export async function build(provider: CryptoProvider, inputs: RelayInputs): Promise<Record<string, string>> {
  const seed = fromHex(inputs.signingSeed);
  const auth = authSignedBytes(fromHex(inputs.nonce), inputs.name, inputs.device);
  const register = authSignedBytes(fromHex(inputs.nonce), inputs.name, 0);
  return {
    signingKey: toHex(await provider.ed25519PublicKey(seed)),
    authSignedBytes: toHex(auth),
    authSignature: toHex(await provider.ed25519Sign(seed, auth)),
    registerSignedBytes: toHex(register),
    registerSignature: toHex(await provider.ed25519Sign(seed, register)),
  };
}
