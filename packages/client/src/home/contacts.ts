/**
 * Contacts: each account we talk to, with the account key we pinned (trust on first use, or
 * verified by comparing safety numbers) and the last device list that key signed. A changed
 * key is held as `pending` until the user accepts it; until then nothing is sent to the
 * contact and nothing from their devices is decrypted.
 */
import {
  type CryptoProvider,
  constantTimeEqual,
  decodeSignedDeviceList,
  type SignedDeviceList,
  verifyDeviceList,
} from '@parley/protocol';
import { ClientError } from '../errors.ts';
import { blob, type HomeDatabase } from './database.ts';
import { statement } from './statement.ts';

/** A contact as stored. */
export interface Contact {
  readonly name: string;
  readonly accountKey: Uint8Array;
  readonly deviceList: SignedDeviceList;
  readonly verified: boolean;
  /** Set when the server served a different account key that the user has not accepted. */
  readonly pendingKey: Uint8Array | undefined;
  readonly changedAt: number | undefined;
}

/** A `contacts` row. */
interface ContactRow {
  readonly name: string;
  readonly account_key: Uint8Array;
  readonly device_list: Uint8Array;
  readonly list_version: number;
  readonly verified: number;
  readonly pending_key: Uint8Array | null;
  readonly pending_list: Uint8Array | null;
  readonly changed_at: number | null;
}

/** What `checkServedList` concluded. */
export type ListCheck =
  | { readonly status: 'trusted'; readonly contact: Contact }
  /** `fresh`: this key was not pending before (the change is new to this device). */
  | { readonly status: 'changed'; readonly contact: Contact; readonly fresh: boolean };

/** The contacts table. */
export interface Contacts {
  get(name: string): Contact | undefined;
  all(): Contact[];
  /**
   * Verifies a served account key and signed device list. A first sight pins them; the same
   * key with a newer (or equal) version updates the list; an older version is refused; a
   * different key is recorded as pending and reported as `changed`.
   */
  checkServedList(name: string, accountKey: Uint8Array, listBytes: Uint8Array, now: number): Promise<ListCheck>;
  /** Accepts the pending key (after the user compared safety numbers or chose to trust it). */
  acceptPending(name: string): Contact;
  setVerified(name: string, verified: boolean): void;
  /**
   * Stores the contacts another device of this account handed over while linking this one
   * (their pinned keys and verified states, already inside the sealed, authenticated payload).
   */
  importLinked(
    contacts: readonly { name: string; accountKey: Uint8Array; deviceList: Uint8Array; verified: boolean }[],
  ): void;
}

/** Opens the contacts table over the home database. */
export function createContacts(db: HomeDatabase, provider: CryptoProvider): Contacts {
  const q = {
    get: statement<[string], ContactRow>(db, 'SELECT * FROM contacts WHERE name = ?'),
    all: statement<[], ContactRow>(db, 'SELECT * FROM contacts ORDER BY name'),
    insert: statement<[string, Uint8Array, Uint8Array, number]>(
      db,
      'INSERT INTO contacts (name, account_key, device_list, list_version) VALUES (?, ?, ?, ?)',
    ),
    updateList: statement<[Uint8Array, number, string]>(
      db,
      'UPDATE contacts SET device_list = ?, list_version = ? WHERE name = ?',
    ),
    setPending: statement<[Uint8Array, Uint8Array, number, string]>(
      db,
      'UPDATE contacts SET pending_key = ?, pending_list = ?, changed_at = ? WHERE name = ?',
    ),
    accept: statement<[number, string]>(
      db,
      `UPDATE contacts SET account_key = pending_key, device_list = pending_list,
         list_version = ?, verified = 0, pending_key = NULL, pending_list = NULL WHERE name = ?`,
    ),
    verified: statement<[number, string]>(db, 'UPDATE contacts SET verified = ? WHERE name = ?'),
    importLinked: statement<[string, Uint8Array, Uint8Array, number, number]>(
      db,
      'INSERT OR REPLACE INTO contacts (name, account_key, device_list, list_version, verified) VALUES (?, ?, ?, ?, ?)',
    ),
  };
  const toContact = (r: ContactRow): Contact => ({
    name: r.name,
    accountKey: blob(r.account_key),
    deviceList: decodeSignedDeviceList(blob(r.device_list)),
    verified: r.verified === 1,
    pendingKey: r.pending_key == null ? undefined : blob(r.pending_key),
    changedAt: r.changed_at ?? undefined,
  });
  const get = (name: string): Contact | undefined => {
    const r = q.get.get(name);
    return r && toContact(r);
  };

  return {
    get,
    all: () => q.all.all().map(toContact),
    async checkServedList(name, accountKey, listBytes, now) {
      let list: SignedDeviceList;
      try {
        list = decodeSignedDeviceList(listBytes);
        await verifyDeviceList(provider, accountKey, list);
      } catch (err) {
        throw new ClientError(
          'INVALID_DEVICE_LIST',
          `the server served a device list for ${name} that does not verify`,
          {
            cause: err,
          },
        );
      }
      const known = get(name);
      if (known === undefined) {
        q.insert.run(name, accountKey, listBytes, list.version);
        return { status: 'trusted', contact: get(name) as Contact };
      }
      if (!constantTimeEqual(known.accountKey, accountKey)) {
        const fresh = known.pendingKey === undefined || !constantTimeEqual(known.pendingKey, accountKey);
        if (fresh) q.setPending.run(accountKey, listBytes, now, name);
        return { status: 'changed', contact: get(name) as Contact, fresh };
      }
      if (list.version < known.deviceList.version) {
        throw new ClientError(
          'INVALID_DEVICE_LIST',
          `the server served an older device list for ${name} (rollback refused)`,
        );
      }
      if (list.version > known.deviceList.version) q.updateList.run(listBytes, list.version, name);
      const contact = get(name) as Contact;
      return known.pendingKey === undefined
        ? { status: 'trusted', contact }
        : { status: 'changed', contact, fresh: false };
    },
    acceptPending(name) {
      const c = get(name);
      if (c === undefined) throw new ClientError('UNKNOWN_ACCOUNT', `no contact named ${name}`);
      if (c.pendingKey === undefined) return c;
      const pendingList = q.get.get(name)?.pending_list;
      if (pendingList === null || pendingList === undefined) return c;
      q.accept.run(decodeSignedDeviceList(blob(pendingList)).version, name);
      return get(name) as Contact;
    },
    setVerified(name, verified) {
      q.verified.run(verified ? 1 : 0, name);
    },
    importLinked(list) {
      for (const c of list) {
        const version = decodeSignedDeviceList(c.deviceList).version;
        q.importLinked.run(c.name, c.accountKey, c.deviceList, version, c.verified ? 1 : 0);
      }
    },
  };
}
