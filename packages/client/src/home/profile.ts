/**
 * The profile: who this home is (account name, server, device id), its private identity keys,
 * its own signed device list and the id counters for prekeys. One row per key in `profile`.
 */
import {
  type AccountIdentityKeyPair,
  type DeviceIdentityKeyPair,
  decodeAccountIdentityRecord,
  decodeDeviceIdentityRecord,
  decodeSignedDeviceList,
  encodeAccountIdentityRecord,
  encodeDeviceIdentityRecord,
  encodeSignedDeviceList,
  type SignedDeviceList,
} from '@parley/protocol';
import { blob, type HomeDatabase } from './database.ts';

/** A loaded profile. */
export interface Profile {
  readonly name: string;
  readonly server: string;
  readonly device: number;
  /** False until the server confirmed the registration. */
  readonly registered: boolean;
  /** The account identity public key (every device has it). */
  readonly accountKey: Uint8Array;
  /** The account identity private key: on the first device, and on linked devices it was transferred to. */
  readonly account: AccountIdentityKeyPair | undefined;
  readonly identity: DeviceIdentityKeyPair;
  readonly deviceList: SignedDeviceList;
}

/** Reads and writes the profile rows. */
export interface ProfileStore {
  load(): Profile | undefined;
  save(p: Profile): void;
  markRegistered(): void;
  /** Stores a newer own device list (already verified by the caller). */
  saveDeviceList(list: SignedDeviceList): void;
  /** Names this device gave its account's devices (id → name). */
  deviceNames(): Record<string, string>;
  setDeviceName(id: number, name: string): void;
  /**
   * True when the user allowed this home's server to be reached without TLS (`allowInsecure` at
   * registration or linking); only matters for an `http://` server that is not this machine.
   */
  insecureAllowed(): boolean;
  /** Remembers that the user allowed this home's server without TLS. */
  allowInsecure(): void;
  /** Returns the next id of a counter and advances it by `count` (ids start at 1). */
  takeIds(counter: 'spk' | 'otp' | 'kem', count: number): number;
  getNumber(key: string): number | undefined;
  setNumber(key: string, value: number): void;
  getText(key: string): string | undefined;
  setText(key: string, value: string): void;
}

/** Opens the profile over the home database. */
export function createProfileStore(db: HomeDatabase): ProfileStore {
  const get = db.prepare('SELECT value FROM profile WHERE key = ?');
  const put = db.prepare('INSERT OR REPLACE INTO profile (key, value) VALUES (?, ?)');
  const read = (key: string): unknown => (get.get(key) as { value: unknown } | undefined)?.value;
  const takeIds = db.transaction((counter: string, count: number): number => {
    const next = (read(`next_${counter}`) as number | undefined) ?? 1;
    put.run(`next_${counter}`, next + count);
    return next;
  });
  return {
    load() {
      const name = read('name');
      if (typeof name !== 'string') return undefined;
      return {
        name,
        server: read('server') as string,
        device: read('device') as number,
        registered: read('registered') === 1,
        accountKey: blob(read('account_key')),
        account:
          read('account_identity') === undefined
            ? undefined
            : decodeAccountIdentityRecord(blob(read('account_identity'))),
        identity: decodeDeviceIdentityRecord(blob(read('device_identity'))),
        deviceList: decodeSignedDeviceList(blob(read('device_list'))),
      };
    },
    save(p) {
      db.transaction(() => {
        put.run('name', p.name);
        put.run('server', p.server);
        put.run('device', p.device);
        put.run('registered', p.registered ? 1 : 0);
        put.run('account_key', p.accountKey);
        if (p.account !== undefined) put.run('account_identity', encodeAccountIdentityRecord(p.account));
        put.run('device_identity', encodeDeviceIdentityRecord(p.identity));
        put.run('device_list', encodeSignedDeviceList(p.deviceList));
      })();
    },
    markRegistered() {
      put.run('registered', 1);
    },
    saveDeviceList(list) {
      put.run('device_list', encodeSignedDeviceList(list));
    },
    deviceNames() {
      const raw = read('device_names');
      return typeof raw === 'string' ? (JSON.parse(raw) as Record<string, string>) : {};
    },
    setDeviceName(id, name) {
      put.run('device_names', JSON.stringify({ ...this.deviceNames(), [id]: name }));
    },
    insecureAllowed() {
      return read('allow_insecure') === 1;
    },
    allowInsecure() {
      put.run('allow_insecure', 1);
    },
    takeIds(counter, count) {
      return takeIds(counter, count);
    },
    getNumber(key) {
      return read(key) as number | undefined;
    },
    setNumber(key, value) {
      put.run(key, value);
    },
    getText(key) {
      const v = read(key);
      return typeof v === 'string' ? v : undefined;
    },
    setText(key, value) {
      put.run(key, value);
    },
  };
}
