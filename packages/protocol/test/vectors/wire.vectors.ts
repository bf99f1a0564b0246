/**
 * Known answers for the wire codecs not covered by a conversation (docs/protocol.md §4): the
 * three shapes of a prekey bundle (with one-time prekeys, last resort only, and without a KEM
 * prekey, which decodes so that PQXDH can refuse it), and a ratchet message built from fixed
 * fields whose counters need multi-byte varints.
 */
import {
  type CryptoProvider,
  encodePreKeyBundle,
  encodeRatchetHeader,
  encodeRatchetMessage,
  ratchetHeaderAssociatedData,
} from '../../src/index.ts';
import { fixedBytes, fromHex, type Hex, makeDeviceSeeds, toHex } from './kit.ts';
import { bundleOf, type ResponderInputs, responder } from './pqxdh.vectors.ts';

export const about = 'Prekey bundles and a ratchet message built from fixed fields (docs/protocol.md §4).';

export interface WireInputs extends ResponderInputs {
  readonly ratchetMessage: {
    readonly ratchetKey: Hex;
    readonly counter: number;
    readonly previousCounter: number;
    /** Any bytes: the codec does not look inside (16 is the shortest, a bare GCM tag). */
    readonly ciphertext: Hex;
  };
}

export function makeInputs(): WireInputs {
  return {
    bob: makeDeviceSeeds('wire/bob'),
    signedPreKey: { id: 2, privateKey: fixedBytes('wire/bob/signed-prekey', 32), createdAt: 0 },
    oneTimePreKey: { id: 128, privateKey: fixedBytes('wire/bob/one-time-prekey', 32) },
    kemPreKey: { id: 16384, seed: fixedBytes('wire/bob/kem-prekey', 64) },
    lastResortKemPreKey: { id: 1000, seed: fixedBytes('wire/bob/last-resort-kem-prekey', 64) },
    ratchetMessage: {
      ratchetKey: fixedBytes('wire/ratchet-key', 32),
      counter: 300,
      previousCounter: 70000,
      ciphertext: fixedBytes('wire/ciphertext', 40),
    },
  };
}

export async function build(provider: CryptoProvider, inputs: WireInputs): Promise<Record<string, string>> {
  const bob = await responder(provider, inputs);
  const full = bundleOf(bob, 'oneTime');
  const lastResort = bundleOf(bob, 'lastResort');
  const m = inputs.ratchetMessage;
  const headerBytes = encodeRatchetHeader({
    ratchetKey: fromHex(m.ratchetKey),
    counter: m.counter,
    previousCounter: m.previousCounter,
  });
  return {
    bundleWithOneTimePreKeys: toHex(encodePreKeyBundle(full)),
    bundleLastResort: toHex(encodePreKeyBundle(lastResort)),
    bundleWithoutKemPreKey: toHex(encodePreKeyBundle({ ...lastResort, kemPreKey: undefined })),
    ratchetHeader: toHex(headerBytes),
    ratchetHeaderAssociatedData: toHex(ratchetHeaderAssociatedData(headerBytes)),
    ratchetMessage: toHex(encodeRatchetMessage({ headerBytes, ciphertext: fromHex(m.ciphertext) })),
  };
}
