/**
 * The directory: which account keys and device lists this device trusts. It pins a contact's
 * account key on first sight and checks every device list the server serves against it (own
 * and contacts'), refuses rollbacks, and applies the key-change policy. One-to-one and group
 * messaging both ask it which devices an account has; neither decides trust on its own.
 */
import {
  type CryptoProvider,
  constantTimeEqual,
  type DeviceListEntry,
  decodeSignedDeviceList,
  fromBase64Url,
  type SignedDeviceList,
  toBase64Url,
  verifyDeviceList,
} from '@parley/protocol';
import { ClientError, isRelayRefusal } from '../errors.ts';
import type { EventHub } from '../events.ts';
import type { Contact, Contacts } from '../home/contacts.ts';
import type { Profile } from '../home/profile.ts';
import { type RelayLink, requireConnected } from '../relay/relay-link.ts';

/**
 * What a contact's account-key change does. `block-verified` (default): a verified contact is
 * blocked until re-verified; an unverified one is warned about once and recorded in the
 * conversation. `block-all`: every change blocks until the user accepts it.
 */
export type KeyChangePolicy = 'block-verified' | 'block-all';

/** What the directory needs from the client. */
export interface DirectoryDeps {
  readonly provider: CryptoProvider;
  readonly clock: () => number;
  readonly contacts: Contacts;
  readonly events: EventHub;
  /** Whose key changes stop sending: only verified contacts' (Signal's rule), or everyone's. */
  readonly keyChangePolicy: KeyChangePolicy;
  profile(): Profile;
  /** Saves a newer own device list (verified here first). */
  setOwnList(list: SignedDeviceList): void;
  link(): RelayLink | undefined;
  /**
   * A contact's account key was replaced (adopted under the policy, or accepted by the user):
   * drop the sessions with their old devices, and write `note` into the conversation if given.
   */
  keyReplaced(name: string, oldDevices: readonly DeviceListEntry[], note: string | undefined): void;
}

/** Trust in accounts' keys and device lists. */
export interface Directory {
  /** Pins or checks a served account key and device list (throws on an unaccepted key change). */
  checkServed(name: string, accountKey: string, deviceList: string): Promise<void>;
  /** Fetches and checks an account's current list (our own too); pins a contact on first sight. */
  refresh(name: string): Promise<void>;
  /** The device list trusted for an account: our own, or the contact's pinned one (empty if none). */
  trustedDevices(name: string): readonly DeviceListEntry[];
  /** The devices of `name` a message goes to (our own other devices for our own name). */
  listedDevices(name: string): number[];
  /** The encoded identity the trusted list has for `name`'s device `device`. */
  listedIdentity(name: string, device: number): Uint8Array | undefined;
  /** The trusted identities of `name`'s devices, base64url by device id. */
  identitiesOf(name: string): Record<number, string>;
  /** The contact, fetched and pinned first if unknown; throws while its key change waits for the user. */
  requireTrusted(name: string): Promise<void>;
  contact(name: string): Contact | undefined;
  /** Accepts a contact's changed key (the user compared safety numbers); UNKNOWN_ACCOUNT if no contact. */
  accept(name: string): void;
}

/** The error every refused send to a contact with a changed key gets. */
export function keyChangedError(name: string): ClientError {
  return new ClientError(
    'UNTRUSTED_IDENTITY',
    `${name}'s account key changed; compare safety numbers and accept it first`,
  );
}

/** Creates the directory. */
export function createDirectory(deps: DirectoryDeps): Directory {
  const { contacts, provider, clock, events } = deps;
  const me = (): string => deps.profile().name;
  const requireLink = (): RelayLink => requireConnected(deps.link());

  /**
   * Takes an unverified contact's new key (Signal's rule: warn, record, go on): sessions with the
   * old devices are dropped and the change is written into the conversation.
   */
  const adoptNewKey = (name: string): void => {
    const old = contacts.get(name);
    if (old?.pendingKey === undefined) return;
    contacts.acceptPending(name);
    deps.keyReplaced(name, old.deviceList.devices, `${name}'s safety number changed`);
  };

  const checkServed = async (name: string, accountKey: string, deviceList: string): Promise<void> => {
    const result = await contacts.checkServedList(
      name,
      fromBase64Url('accountKey', accountKey),
      fromBase64Url('deviceList', deviceList),
      clock(),
    );
    if (result.status === 'changed') {
      const verified = result.contact.verified;
      events.emit({ type: 'identity-changed', name, verified });
      if (!verified && deps.keyChangePolicy === 'block-verified') {
        adoptNewKey(name);
        return;
      }
      throw keyChangedError(name);
    }
  };

  /** Fetches our own signed device list and takes it if it verifies and is not older. */
  const refreshOwnList = async (): Promise<void> => {
    const r = await requireLink().request('get-account', { name: me() });
    const key = fromBase64Url('accountKey', r.accountKey);
    let list: SignedDeviceList;
    try {
      if (!constantTimeEqual(key, deps.profile().accountKey)) throw new Error('account key differs');
      list = decodeSignedDeviceList(fromBase64Url('deviceList', r.deviceList));
      await verifyDeviceList(provider, key, list);
    } catch (err) {
      throw new ClientError('INVALID_DEVICE_LIST', 'the server served our own device list under another key', {
        cause: err,
      });
    }
    const current = deps.profile().deviceList.version;
    if (list.version < current)
      throw new ClientError('INVALID_DEVICE_LIST', 'the server served an older own device list');
    if (list.version > current) deps.setOwnList(list);
  };

  const refresh = async (name: string): Promise<void> => {
    if (name === me()) return refreshOwnList();
    try {
      const r = await requireLink().request('get-account', { name });
      await checkServed(name, r.accountKey, r.deviceList);
    } catch (err) {
      if (isRelayRefusal(err, 'UNKNOWN_ACCOUNT'))
        throw new ClientError('UNKNOWN_ACCOUNT', `no account named ${name} on the server`);
      throw err;
    }
  };

  const trustedDevices = (name: string): readonly DeviceListEntry[] =>
    (name === me() ? deps.profile().deviceList : contacts.get(name)?.deviceList)?.devices ?? [];

  return {
    checkServed,
    refresh,
    trustedDevices,
    listedDevices: (name) =>
      trustedDevices(name)
        .map((d) => d.id)
        .filter((id) => !(name === me() && id === deps.profile().device)),
    listedIdentity: (name, device) => trustedDevices(name).find((d) => d.id === device)?.identity,
    identitiesOf: (name) => Object.fromEntries(trustedDevices(name).map((d) => [d.id, toBase64Url(d.identity)])),
    async requireTrusted(name) {
      if (name === me()) return;
      const c = contacts.get(name);
      if (c === undefined) await refresh(name);
      else if (c.pendingKey !== undefined) throw keyChangedError(name);
    },
    contact: (name) => contacts.get(name),
    accept(name) {
      const old = contacts.get(name);
      if (old === undefined) throw new ClientError('UNKNOWN_ACCOUNT', `no contact named ${name}`);
      if (old.pendingKey === undefined) return;
      contacts.acceptPending(name);
      deps.keyReplaced(name, old.deviceList.devices, undefined);
    },
  };
}
