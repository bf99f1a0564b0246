/**
 * The protocol's store interfaces (`IdentityStore`, `PreKeyStore`, `SessionStore`) on the home
 * database. Records are stored encoded with the protocol's own codecs.
 *
 * Trust is decided by device lists: a remote device identity is trusted only when it is the
 * identity listed for that device id on the contact's device list, signed by the account key
 * we pinned and not superseded by a pending (unaccepted) key.
 */
import {
  addressKey,
  constantTimeEqual,
  type DeviceIdentityKeyPair,
  decodeDeviceIdentityPublic,
  decodeKemPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodeSessionRecord,
  decodeSignedPreKeyRecord,
  encodeDeviceIdentityPublic,
  encodeSessionRecord,
  type IdentityStore,
  type PreKeyStore,
  type SessionStore,
  type SignedDeviceList,
  toBase64Url,
} from '@parley/protocol';
import type { Contacts } from './contacts.ts';
import { blob, type HomeDatabase, type HomeStatement } from './database.ts';

/** The three protocol stores plus the session deletion the self-healing path needs. */
export interface HomeProtocolStores {
  readonly identityStore: IdentityStore;
  readonly preKeyStore: PreKeyStore;
  readonly sessionStore: SessionStore & { deleteSession(address: { account: string; device: number }): void };
}

/** Creates the stores; `ownList` reads our own signed device list (for our other devices). */
export function createHomeProtocolStores(
  db: HomeDatabase,
  local: DeviceIdentityKeyPair,
  ownName: string,
  ownList: () => SignedDeviceList,
  contacts: Contacts,
): HomeProtocolStores {
  const q = {
    getIdentity: db.prepare('SELECT identity FROM remote_identities WHERE address = ?'),
    putIdentity: db.prepare('INSERT OR REPLACE INTO remote_identities (address, identity) VALUES (?, ?)'),
    getSpk: db.prepare('SELECT record FROM signed_prekeys WHERE id = ?'),
    getOtp: db.prepare('SELECT record FROM one_time_prekeys WHERE id = ?'),
    delOtp: db.prepare('DELETE FROM one_time_prekeys WHERE id = ?'),
    getKem: db.prepare('SELECT record FROM kem_prekeys WHERE id = ?'),
    delKem: db.prepare('DELETE FROM kem_prekeys WHERE id = ? AND last_resort = 0'),
    useBaseKey: db.prepare('INSERT OR IGNORE INTO base_key_uses (key) VALUES (?)'),
    getSession: db.prepare('SELECT record FROM sessions WHERE address = ?'),
    putSession: db.prepare('INSERT OR REPLACE INTO sessions (address, record) VALUES (?, ?)'),
    delSession: db.prepare('DELETE FROM sessions WHERE address = ?'),
  };
  const record = (stmt: HomeStatement, id: number | string): Uint8Array | undefined => {
    const r = stmt.get(id) as { record: Uint8Array } | undefined;
    return r && blob(r.record);
  };

  const listedIdentity = (account: string, device: number): Uint8Array | undefined => {
    let list: SignedDeviceList;
    if (account === ownName) list = ownList();
    else {
      const c = contacts.get(account);
      if (c === undefined || c.pendingKey !== undefined) return undefined;
      list = c.deviceList;
    }
    return list.devices.find((d) => d.id === device)?.identity;
  };

  return {
    identityStore: {
      async getLocalIdentity() {
        return local;
      },
      async getRemoteIdentity(address) {
        const r = q.getIdentity.get(addressKey(address)) as { identity: Uint8Array } | undefined;
        return r && decodeDeviceIdentityPublic(blob(r.identity));
      },
      async saveRemoteIdentity(address, identity) {
        q.putIdentity.run(addressKey(address), encodeDeviceIdentityPublic(identity));
      },
      async isTrustedIdentity(address, identity) {
        const listed = listedIdentity(address.account, address.device);
        return listed !== undefined && constantTimeEqual(listed, encodeDeviceIdentityPublic(identity));
      },
    },
    preKeyStore: {
      async getSignedPreKey(id) {
        const b = record(q.getSpk, id);
        return b && decodeSignedPreKeyRecord(b);
      },
      async getOneTimePreKey(id) {
        const b = record(q.getOtp, id);
        return b && decodeOneTimePreKeyRecord(b);
      },
      async removeOneTimePreKey(id) {
        q.delOtp.run(id);
      },
      async getKemPreKey(id) {
        const b = record(q.getKem, id);
        return b && decodeKemPreKeyRecord(b);
      },
      async removeKemPreKey(id) {
        q.delKem.run(id);
      },
      async recordBaseKeyUse(signedPreKeyId, kemPreKeyId, baseKey) {
        return q.useBaseKey.run(`${signedPreKeyId}:${kemPreKeyId}:${toBase64Url(baseKey)}`).changes === 1;
      },
    },
    sessionStore: {
      async loadSession(address) {
        const b = record(q.getSession, addressKey(address));
        if (b === undefined) return undefined;
        try {
          return decodeSessionRecord(b);
        } catch {
          // An unreadable record is as good as none: the peer's retry builds a fresh session.
          return undefined;
        }
      },
      async storeSession(address, rec) {
        q.putSession.run(addressKey(address), encodeSessionRecord(rec));
      },
      deleteSession(address) {
        q.delSession.run(addressKey(address));
      },
    },
  };
}
