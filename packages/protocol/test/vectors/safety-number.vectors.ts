/**
 * Known answers for safety numbers (docs/protocol.md §7): the 60 digits and the QR payload of
 * two fixed account identity keys.
 */
import { type CryptoProvider, computeSafetyNumber } from '../../src/index.ts';
import { fixedBytes, fromHex, type Hex, toHex } from './kit.ts';

export const about = 'Safety number digits and QR payload of two fixed account keys (docs/protocol.md §7).';

export interface SafetyNumberInputs {
  readonly aliceName: string;
  readonly aliceAccountSeed: Hex;
  readonly bobName: string;
  readonly bobAccountSeed: Hex;
}

export function makeInputs(): SafetyNumberInputs {
  return {
    aliceName: 'alice',
    aliceAccountSeed: fixedBytes('safety-number/alice', 32),
    bobName: 'bob.smith',
    bobAccountSeed: fixedBytes('safety-number/bob', 32),
  };
}

/** Rebuilds the account keys from their seeds and the safety number from Alice's side. */
export async function build(provider: CryptoProvider, inputs: SafetyNumberInputs): Promise<Record<string, string>> {
  const aliceAccountKey = await provider.ed25519PublicKey(fromHex(inputs.aliceAccountSeed));
  const bobAccountKey = await provider.ed25519PublicKey(fromHex(inputs.bobAccountSeed));
  const number = await computeSafetyNumber(provider, {
    ourName: inputs.aliceName,
    ourAccountKey: aliceAccountKey,
    theirName: inputs.bobName,
    theirAccountKey: bobAccountKey,
  });
  return {
    aliceAccountKey: toHex(aliceAccountKey),
    bobAccountKey: toHex(bobAccountKey),
    digits: number.digits,
    qrPayload: toHex(number.qrPayload),
  };
}
