/**
 * Known answers for linking a device (docs/protocol.md §13): the link code drawn from fixed
 * randomness (whose channel's top bit is cleared), the MAC of the new device's offer, and the
 * payload sealed to it with a fixed ephemeral key and nonce.
 */
import {
  type CryptoProvider,
  createLinkCode,
  encodeDeviceIdentityPublic,
  encodeLinkCode,
  linkOfferMac,
  sealLinkPayload,
  utf8,
} from '../../src/index.ts';
import { type DeviceSeeds, deviceFrom, fixedBytes, type Hex, makeDeviceSeeds, toHex, withDraws } from './kit.ts';

export const about =
  'Link code, offer MAC and sealed link payload from fixed keys and randomness (docs/protocol.md §13).';

export interface LinkingInputs {
  /** The code's two draws: channel (its first byte has the top bit set, to show it cleared) and secret. */
  readonly codeDraws: readonly [Hex, Hex];
  readonly newDevice: DeviceSeeds;
  readonly deviceName: string;
  /** The sealing draws: ephemeral X25519 private key, AES-GCM nonce. */
  readonly sealDraws: readonly [Hex, Hex];
  readonly payload: string;
}

export function makeInputs(): LinkingInputs {
  const channel = `ff${fixedBytes('linking/channel', 15)}`;
  return {
    codeDraws: [channel, fixedBytes('linking/secret', 16)],
    newDevice: makeDeviceSeeds('linking/new-device'),
    deviceName: 'Laptop ☕',
    sealDraws: [fixedBytes('linking/ephemeral', 32), fixedBytes('linking/nonce', 12)],
    payload: '{"v":1,"name":"alice","device":2}',
  };
}

export async function build(provider: CryptoProvider, inputs: LinkingInputs): Promise<Record<string, string>> {
  const code = await withDraws(inputs.codeDraws, async (r) => createLinkCode(r));
  const device = await deviceFrom(provider, inputs.newDevice);
  const identity = encodeDeviceIdentityPublic(device.publicIdentity);
  const sealed = await withDraws(inputs.sealDraws, (r) =>
    sealLinkPayload(provider, r, code, identity, utf8(inputs.payload)),
  );
  return {
    linkCode: toHex(encodeLinkCode(code)),
    newDeviceIdentity: toHex(identity),
    offerMac: toHex(await linkOfferMac(provider, code, identity, inputs.deviceName)),
    sealedPayload: toHex(sealed),
  };
}
