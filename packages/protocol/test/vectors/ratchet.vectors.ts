/**
 * Known answers for the Double Ratchet's KDFs (docs/protocol.md §3, DR §5.2): three KDF_RK
 * steps from a fixed root key and DH outputs, and three KDF_CK steps of a fixed chain key with
 * each message key's AES-256-GCM key and nonce.
 */
import type { CryptoProvider } from '../../src/index.ts';
import { kdfChainKey, kdfRootKey, messageKeyMaterial } from '../../src/ratchet/kdf.ts';
import { fixedBytes, fromHex, type Hex, toHex } from './kit.ts';

export const about = 'Double Ratchet KDF_RK, KDF_CK and message key expansion for fixed steps (docs/protocol.md §3).';

export interface RatchetInputs {
  readonly rootKey: Hex;
  readonly dhOutputs: readonly Hex[];
  readonly chainKey: Hex;
  readonly chainSteps: number;
}

export function makeInputs(): RatchetInputs {
  return {
    rootKey: fixedBytes('ratchet/root-key', 32),
    dhOutputs: [1, 2, 3].map((i) => fixedBytes(`ratchet/dh-output-${i}`, 32)),
    chainKey: fixedBytes('ratchet/chain-key', 32),
    chainSteps: 3,
  };
}

/** Root step i gives `root<i>.rootKey` and `root<i>.chainKey`; chain step i its message key, next chain key, AES key and nonce. */
export async function build(provider: CryptoProvider, inputs: RatchetInputs): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let rootKey = fromHex(inputs.rootKey);
  for (const [i, dh] of inputs.dhOutputs.entries()) {
    const step = await kdfRootKey(provider, rootKey, fromHex(dh));
    out[`root${i + 1}.rootKey`] = toHex(step.rootKey);
    out[`root${i + 1}.chainKey`] = toHex(step.chainKey);
    rootKey = step.rootKey;
  }
  let chainKey = fromHex(inputs.chainKey);
  for (let i = 1; i <= inputs.chainSteps; i++) {
    const step = await kdfChainKey(provider, chainKey);
    const { key, nonce } = await messageKeyMaterial(provider, step.messageKey);
    out[`chain${i}.messageKey`] = toHex(step.messageKey);
    out[`chain${i}.chainKey`] = toHex(step.chainKey);
    out[`chain${i}.aesKey`] = toHex(key);
    out[`chain${i}.nonce`] = toHex(nonce);
    chainKey = step.chainKey;
  }
  return out;
}
