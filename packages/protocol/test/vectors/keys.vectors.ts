/**
 * Known answers for key generation from fixed seeds and every key record encoding
 * (docs/protocol.md §1, §8, §10): account and device identity records, the 128-byte public
 * device identity, signed, one-time and ML-KEM prekey records (expanded and seed form), and a
 * signed device list.
 */
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import {
  type CryptoProvider,
  encodeAccountIdentityRecord,
  encodeDeviceIdentityPublic,
  encodeDeviceIdentityRecord,
  encodeKemPreKeyRecord,
  encodeOneTimePreKeyRecord,
  encodeSignedDeviceList,
  encodeSignedPreKeyRecord,
  generateAccountIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  signDeviceList,
} from '../../src/index.ts';
import {
  type DeviceSeeds,
  deviceFrom,
  fixedBytes,
  fromHex,
  type Hex,
  keepsKemSeeds,
  makeDeviceSeeds,
  toHex,
  withDraws,
} from './kit.ts';

export const about = 'Key generation from fixed seeds and every key record encoding (docs/protocol.md §1, §8, §10).';

export interface KeysInputs {
  readonly accountSeed: Hex;
  readonly device: DeviceSeeds;
  readonly secondDevice: DeviceSeeds;
  readonly signedPreKey: { readonly id: number; readonly privateKey: Hex; readonly createdAt: number };
  readonly oneTimePreKey: { readonly id: number; readonly privateKey: Hex };
  readonly kemPreKey: {
    readonly id: number;
    readonly lastResort: boolean;
    readonly seed: Hex;
    readonly createdAt: number;
  };
  readonly deviceList: { readonly version: number; readonly ids: readonly [number, number] };
}

export function makeInputs(): KeysInputs {
  return {
    accountSeed: fixedBytes('keys/account', 32),
    device: makeDeviceSeeds('keys/device'),
    secondDevice: makeDeviceSeeds('keys/second-device'),
    // A createdAt with a fraction checks that the float64 keeps it exactly.
    signedPreKey: { id: 7, privateKey: fixedBytes('keys/signed-prekey', 32), createdAt: 1767225600123.5 },
    oneTimePreKey: { id: 300, privateKey: fixedBytes('keys/one-time-prekey', 32) },
    kemPreKey: { id: 1000, lastResort: true, seed: fixedBytes('keys/kem-prekey', 64), createdAt: 1767225600000 },
    deviceList: { version: 3, ids: [1, 4] },
  };
}

/**
 * Rebuilds every key record. The KEM prekey record is frozen in both forms of its secret key;
 * `kemPreKeyRecord` is what `provider` generates (the seed form where ML-KEM runs on OpenSSL).
 */
export async function build(provider: CryptoProvider, inputs: KeysInputs): Promise<Record<string, string>> {
  const account = await withDraws([inputs.accountSeed], (r) => generateAccountIdentity(provider, r));
  const device = await deviceFrom(provider, inputs.device);
  const second = await deviceFrom(provider, inputs.secondDevice);
  const spkIn = inputs.signedPreKey;
  const spk = await withDraws([spkIn.privateKey], (r) =>
    generateSignedPreKey(provider, r, device, spkIn.id, spkIn.createdAt),
  );
  const [otp] = await withDraws([inputs.oneTimePreKey.privateKey], (r) =>
    generateOneTimePreKeys(provider, r, inputs.oneTimePreKey.id, 1),
  );
  if (otp === undefined) throw new Error('no one-time prekey');
  const kemIn = inputs.kemPreKey;
  const kem = await withDraws([kemIn.seed], (r) =>
    generateKemPreKey(provider, r, device, kemIn.id, kemIn.lastResort, kemIn.createdAt),
  );
  const [firstId, secondId] = inputs.deviceList.ids;
  const list = await signDeviceList(provider, account.privateKey, inputs.deviceList.version, [
    { id: firstId, identity: encodeDeviceIdentityPublic(device.publicIdentity) },
    { id: secondId, identity: encodeDeviceIdentityPublic(second.publicIdentity) },
  ]);
  // The record `provider` generated, and the other form of the same key made here: OpenSSL keeps
  // the seed (and noble expands it), noble hands out the expanded key (and the seed is the input).
  const [expanded, seed] = keepsKemSeeds(provider)
    ? [{ ...kem, secretKey: ml_kem1024.keygen(fromHex(kemIn.seed)).secretKey }, kem]
    : [kem, { ...kem, secretKey: fromHex(kemIn.seed) }];
  return {
    accountPublicKey: toHex(account.publicKey),
    accountIdentityRecord: toHex(encodeAccountIdentityRecord(account)),
    deviceIdentityPublic: toHex(encodeDeviceIdentityPublic(device.publicIdentity)),
    deviceIdentityRecord: toHex(encodeDeviceIdentityRecord(device)),
    secondDeviceIdentityPublic: toHex(encodeDeviceIdentityPublic(second.publicIdentity)),
    signedPreKeyRecord: toHex(encodeSignedPreKeyRecord(spk)),
    oneTimePreKeyRecord: toHex(encodeOneTimePreKeyRecord(otp)),
    kemPreKeyRecordExpanded: toHex(encodeKemPreKeyRecord(expanded)),
    kemPreKeyRecordSeed: toHex(encodeKemPreKeyRecord(seed)),
    signedDeviceList: toHex(encodeSignedDeviceList(list)),
  };
}
