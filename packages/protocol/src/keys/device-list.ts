/**
 * The signed device list (docs/protocol.md §10): the account identity key signs a versioned
 * list of the account's device identities. Clients encrypt only to devices on a list signed by
 * the account key they trust, so a server cannot add a device of its own (the "ghost").
 *
 * Layout of the signed bytes: label ‖ u32 version ‖ u32 count ‖ count × (u32 deviceId ‖
 * 128-byte device identity). The signature is strict Ed25519 over those bytes.
 */
import { assertBytes, concatBytes, u32be, utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import { DEVICE_IDENTITY_PUBLIC_LENGTH } from './identity.ts';

const LABEL = utf8('Parley/v1/device-list');
const ENTRY_LENGTH = 4 + DEVICE_IDENTITY_PUBLIC_LENGTH;
/** Most devices one account may list. */
export const MAX_DEVICES = 16;

/** One listed device: its id (1-based) and encoded public device identity. */
export interface DeviceListEntry {
  readonly id: number;
  readonly identity: Uint8Array;
}

/** A device list with its account-key signature. `version` increases with every change. */
export interface SignedDeviceList {
  readonly version: number;
  readonly devices: readonly DeviceListEntry[];
  readonly signature: Uint8Array;
}

function readU32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
}

/** The bytes the account key signs. Devices must be listed in increasing id order. */
export function deviceListBytes(version: number, devices: readonly DeviceListEntry[]): Uint8Array {
  if (!Number.isInteger(version) || version < 1 || version > 0xffffffff) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected device list version as u32 >= 1');
  }
  if (devices.length < 1 || devices.length > MAX_DEVICES) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected 1 to ${MAX_DEVICES} devices`);
  }
  const parts = [LABEL, u32be(version), u32be(devices.length)];
  let last = 0;
  for (const d of devices) {
    if (!Number.isInteger(d.id) || d.id <= last || d.id > 0xffffffff) {
      throw new ProtocolError('INVALID_ARGUMENT', 'expected device ids as increasing u32 >= 1');
    }
    assertBytes('device identity', d.identity, DEVICE_IDENTITY_PUBLIC_LENGTH);
    parts.push(u32be(d.id), d.identity);
    last = d.id;
  }
  return concatBytes(...parts);
}

/** Signs a device list with the account identity private key (Ed25519 seed). */
export async function signDeviceList(
  provider: CryptoProvider,
  accountPrivateKey: Uint8Array,
  version: number,
  devices: readonly DeviceListEntry[],
): Promise<SignedDeviceList> {
  const signature = await provider.ed25519Sign(accountPrivateKey, deviceListBytes(version, devices));
  return { version, devices: devices.map((d) => ({ id: d.id, identity: d.identity })), signature };
}

/** Verifies `list` under `accountKey`; throws `INVALID_SIGNATURE` or `INVALID_ARGUMENT`. */
export async function verifyDeviceList(
  provider: CryptoProvider,
  accountKey: Uint8Array,
  list: SignedDeviceList,
): Promise<void> {
  assertBytes('accountKey', accountKey, 32);
  assertBytes('device list signature', list.signature, 64);
  if (!(await provider.ed25519Verify(accountKey, deviceListBytes(list.version, list.devices), list.signature))) {
    throw new ProtocolError('INVALID_SIGNATURE', 'device list signature does not verify under the account key');
  }
}

/** Encodes a signed list as its signed bytes followed by the 64-byte signature. */
export function encodeSignedDeviceList(list: SignedDeviceList): Uint8Array {
  return concatBytes(deviceListBytes(list.version, list.devices), list.signature);
}

/** Decodes `encodeSignedDeviceList` output (structure only; call `verifyDeviceList`). */
export function decodeSignedDeviceList(bytes: Uint8Array): SignedDeviceList {
  assertBytes('device list', bytes);
  const header = LABEL.length + 8;
  const bad = () => new ProtocolError('MALFORMED_MESSAGE', 'malformed signed device list');
  if (bytes.length < header + 64) throw bad();
  for (let i = 0; i < LABEL.length; i++) if (bytes[i] !== LABEL[i]) throw bad();
  const version = readU32(bytes, LABEL.length);
  const count = readU32(bytes, LABEL.length + 4);
  if (count < 1 || count > MAX_DEVICES || bytes.length !== header + count * ENTRY_LENGTH + 64) throw bad();
  const devices: DeviceListEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = header + i * ENTRY_LENGTH;
    devices.push({ id: readU32(bytes, at), identity: bytes.slice(at + 4, at + ENTRY_LENGTH) });
  }
  try {
    deviceListBytes(version, devices);
  } catch {
    throw bad();
  }
  return { version, devices, signature: bytes.slice(bytes.length - 64) };
}
