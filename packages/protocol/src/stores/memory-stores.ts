/**
 * In-memory stores for tests, fuzzing and benchmarks. They keep ENCODED records, like a real
 * database would, so tests can snapshot every byte and benchmarks pay serialisation honestly.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { constantTimeEqual } from '../bytes.ts';
import type { DeviceIdentityKeyPair, DeviceIdentityPublic } from '../keys/identity.ts';
import { decodeDeviceIdentityPublic, encodeDeviceIdentityPublic } from '../keys/identity.ts';
import type { KemPreKeyRecord, OneTimePreKeyRecord, SignedPreKeyRecord } from '../keys/prekeys.ts';
import {
  decodeKemPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodeSignedPreKeyRecord,
  encodeKemPreKeyRecord,
  encodeOneTimePreKeyRecord,
  encodeSignedPreKeyRecord,
} from '../keys/records.ts';
import { decodeSessionRecord, encodeSessionRecord } from '../session/record-codec.ts';
import { addressKey, type IdentityStore, type PreKeyStore, type SessionStore } from './stores.ts';

/** Memory identity store; `trust(address, identity)` accepts a changed identity. */
export interface MemoryIdentityStore extends IdentityStore {
  trust(address: { account: string; device: number }, identity: DeviceIdentityPublic): void;
  snapshot(): Map<string, Uint8Array>;
}

/** Creates a memory identity store holding `local` as our identity. */
export function createMemoryIdentityStore(local: DeviceIdentityKeyPair): MemoryIdentityStore {
  const remote = new Map<string, Uint8Array>();
  return {
    async getLocalIdentity() {
      return local;
    },
    async getRemoteIdentity(address) {
      const bytes = remote.get(addressKey(address));
      return bytes ? decodeDeviceIdentityPublic(bytes) : undefined;
    },
    async saveRemoteIdentity(address, identity) {
      remote.set(addressKey(address), encodeDeviceIdentityPublic(identity));
    },
    async isTrustedIdentity(address, identity) {
      const known = remote.get(addressKey(address));
      return known === undefined || constantTimeEqual(known, encodeDeviceIdentityPublic(identity));
    },
    trust(address, identity) {
      remote.set(addressKey(address), encodeDeviceIdentityPublic(identity));
    },
    snapshot() {
      return new Map(remote);
    },
  };
}

/** Memory prekey store with helpers to add keys. */
export interface MemoryPreKeyStore extends PreKeyStore {
  addSignedPreKey(record: SignedPreKeyRecord): void;
  addOneTimePreKey(record: OneTimePreKeyRecord): void;
  addKemPreKey(record: KemPreKeyRecord): void;
  snapshot(): Map<string, Uint8Array>;
}

/** Creates an empty memory prekey store. */
export function createMemoryPreKeyStore(): MemoryPreKeyStore {
  const rows = new Map<string, Uint8Array>();
  return {
    async getSignedPreKey(id) {
      const b = rows.get(`spk:${id}`);
      return b ? decodeSignedPreKeyRecord(b) : undefined;
    },
    async getOneTimePreKey(id) {
      const b = rows.get(`opk:${id}`);
      return b ? decodeOneTimePreKeyRecord(b) : undefined;
    },
    async removeOneTimePreKey(id) {
      rows.delete(`opk:${id}`);
    },
    async getKemPreKey(id) {
      const b = rows.get(`kem:${id}`);
      return b ? decodeKemPreKeyRecord(b) : undefined;
    },
    async removeKemPreKey(id) {
      rows.delete(`kem:${id}`);
    },
    async recordBaseKeyUse(signedPreKeyId, kemPreKeyId, baseKey) {
      const key = `base:${signedPreKeyId}:${kemPreKeyId}:${bytesToHex(baseKey)}`;
      if (rows.has(key)) return false;
      rows.set(key, new Uint8Array(0));
      return true;
    },
    addSignedPreKey(record) {
      rows.set(`spk:${record.id}`, encodeSignedPreKeyRecord(record));
    },
    addOneTimePreKey(record) {
      rows.set(`opk:${record.id}`, encodeOneTimePreKeyRecord(record));
    },
    addKemPreKey(record) {
      rows.set(`kem:${record.id}`, encodeKemPreKeyRecord(record));
    },
    snapshot() {
      return new Map(rows);
    },
  };
}

/** Memory session store keeping encoded records. */
export interface MemorySessionStore extends SessionStore {
  snapshot(): Map<string, Uint8Array>;
  delete(address: { account: string; device: number }): void;
}

/** Creates an empty memory session store. */
export function createMemorySessionStore(): MemorySessionStore {
  const rows = new Map<string, Uint8Array>();
  return {
    async loadSession(address) {
      const b = rows.get(addressKey(address));
      return b ? decodeSessionRecord(b) : undefined;
    },
    async storeSession(address, record) {
      rows.set(addressKey(address), encodeSessionRecord(record));
    },
    snapshot() {
      return new Map(rows);
    },
    delete(address) {
      rows.delete(addressKey(address));
    },
  };
}
