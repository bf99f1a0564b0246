/**
 * The store interfaces through which sessions persist (the only I/O the protocol asks for).
 * The client implements them on SQLite or IndexedDB; `memory-stores.ts` implements them for
 * tests and benchmarks. All methods are async so every backend fits.
 */
import type { DeviceIdentityKeyPair, DeviceIdentityPublic } from '../keys/identity.ts';
import type { KemPreKeyRecord, OneTimePreKeyRecord, SignedPreKeyRecord } from '../keys/prekeys.ts';
import type { SessionRecord } from '../session/record.ts';

/** A remote device: account name and device id. */
export interface ProtocolAddress {
  readonly account: string;
  readonly device: number;
}

/** The string key of an address, `name.device`, for maps and database rows. */
export function addressKey(address: ProtocolAddress): string {
  return `${address.account}.${address.device}`;
}

/** Our device identity and the identities we have seen for remote devices. */
export interface IdentityStore {
  getLocalIdentity(): Promise<DeviceIdentityKeyPair>;
  getRemoteIdentity(address: ProtocolAddress): Promise<DeviceIdentityPublic | undefined>;
  saveRemoteIdentity(address: ProtocolAddress, identity: DeviceIdentityPublic): Promise<void>;
  /** True when `identity` may be used for `address` (first use, or equal to or accepted over the stored one). */
  isTrustedIdentity(address: ProtocolAddress, identity: DeviceIdentityPublic): Promise<boolean>;
}

/** Our private prekeys. One-time keys are removed once used. */
export interface PreKeyStore {
  getSignedPreKey(id: number): Promise<SignedPreKeyRecord | undefined>;
  getOneTimePreKey(id: number): Promise<OneTimePreKeyRecord | undefined>;
  removeOneTimePreKey(id: number): Promise<void>;
  getKemPreKey(id: number): Promise<KemPreKeyRecord | undefined>;
  removeKemPreKey(id: number): Promise<void>;
  /**
   * Records that an initial message with `baseKey` used these prekeys without a one-time
   * X25519 key; resolves false when that base key was already recorded (a replay).
   */
  recordBaseKeyUse(signedPreKeyId: number, kemPreKeyId: number, baseKey: Uint8Array): Promise<boolean>;
}

/** Session records by address. */
export interface SessionStore {
  loadSession(address: ProtocolAddress): Promise<SessionRecord | undefined>;
  storeSession(address: ProtocolAddress, record: SessionRecord): Promise<void>;
}
