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
 * What a contact's account-key change does. Under both, the change is written into the
 * conversation when this device first sees it, and the send that discovers it is held (nothing
 * is encrypted to a key the user has not been shown); a verified contact stays blocked until
 * re-verified with the new safety number.
 *
 * - `hold-all` (default): every send to the contact is held until the user accepts the change
 *   (`acceptChange`) or verifies; messages from the new key are held undecrypted until then.
 * - `block-verified` (Signal's rule): for an unverified contact the new key is taken for
 *   receiving at once, the discovering send is held, and later sends go through.
 */
export type KeyChangePolicy = 'hold-all' | 'block-verified';

/** The policy a client uses when neither its options nor its home name one. */
export const DEFAULT_KEY_CHANGE_POLICY: KeyChangePolicy = 'hold-all';

/** What the directory needs from the client. */
export interface DirectoryDeps {
  readonly provider: CryptoProvider;
  readonly clock: () => number;
  readonly contacts: Contacts;
  readonly events: EventHub;
  /** The key-change policy in force (read at each change: the user may switch it). */
  keyChangePolicy(): KeyChangePolicy;
  /** Per-contact flag: sends to this contact are held for a key change the user has not acted on. */
  readonly sendHolds: { get(name: string): boolean; set(name: string, held: boolean): void };
  profile(): Profile;
  /** Saves a newer own device list (verified here first). */
  setOwnList(list: SignedDeviceList): void;
  link(): RelayLink | undefined;
  /** A contact's account key changed: write the change line into the conversation (before anything else of it). */
  noteKeyChange(name: string): void;
  /** A contact's account key was replaced (adopted under the policy, or accepted): drop the sessions with their old devices. */
  keyReplaced(name: string, oldDevices: readonly DeviceListEntry[]): void;
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
  /** Whether sends to `name` are held for a key change (pending, or adopted but not yet acted on). */
  sendsHeld(name: string): boolean;
  /**
   * A send to `name` was held and the user told so: under `block-verified`, an unverified
   * contact's later sends go through (Signal's rule); otherwise nothing changes.
   */
  changeShown(name: string): void;
  /**
   * The user accepts `name`'s changed key without comparing ("send anyway"): adopts it and
   * lifts the hold. Refused (`UNTRUSTED_IDENTITY`) for a verified contact, who must be
   * re-verified; `UNKNOWN_ACCOUNT` if no contact.
   */
  acceptChange(name: string): void;
  /** The user compared the safety number of `name`'s current key: adopts it, lifts the hold, marks verified. */
  verified(name: string): void;
}

/** The error every refused send to a contact with a changed key gets. */
export function keyChangedError(name: string): ClientError {
  return new ClientError(
    'UNTRUSTED_IDENTITY',
    `${name}'s safety number changed (their account key was replaced); nothing was sent to the new key`,
  );
}

/** Creates the directory. */
export function createDirectory(deps: DirectoryDeps): Directory {
  const { contacts, provider, clock, events } = deps;
  const me = (): string => deps.profile().name;
  const requireLink = (): RelayLink => requireConnected(deps.link());

  /** Takes the contact's pending key: sessions with the old devices are dropped. */
  const adopt = (name: string): void => {
    const old = contacts.get(name);
    if (old?.pendingKey === undefined) return;
    contacts.acceptPending(name);
    deps.keyReplaced(name, old.deviceList.devices);
  };

  const sendsHeld = (name: string): boolean => contacts.get(name)?.pendingKey !== undefined || deps.sendHolds.get(name);

  const checkServed = async (name: string, accountKey: string, deviceList: string): Promise<void> => {
    const result = await contacts.checkServedList(
      name,
      fromBase64Url('accountKey', accountKey),
      fromBase64Url('deviceList', deviceList),
      clock(),
    );
    if (result.status !== 'changed') return;
    const verified = result.contact.verified;
    if (result.fresh) {
      // The change line goes in first: a held message, or one from the new key, comes after it.
      deps.noteKeyChange(name);
      deps.sendHolds.set(name, true);
      events.emit({ type: 'identity-changed', name, verified });
    }
    // Signal's rule: an unverified contact's new key is taken for receiving; sends stay held
    // until one has been held and the user told (`changeShown`).
    if (!verified && deps.keyChangePolicy() === 'block-verified') adopt(name);
    if (sendsHeld(name)) throw keyChangedError(name);
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
      else if (sendsHeld(name)) throw keyChangedError(name);
    },
    contact: (name) => contacts.get(name),
    sendsHeld,
    changeShown(name) {
      const c = contacts.get(name);
      if (c === undefined || c.pendingKey !== undefined || c.verified) return;
      if (deps.keyChangePolicy() === 'block-verified') deps.sendHolds.set(name, false);
    },
    acceptChange(name) {
      const c = contacts.get(name);
      if (c === undefined) throw new ClientError('UNKNOWN_ACCOUNT', `no contact named ${name}`);
      if (c.pendingKey !== undefined && c.verified) {
        throw new ClientError(
          'UNTRUSTED_IDENTITY',
          `${name} was verified and their safety number changed; compare the new number and verify again`,
        );
      }
      adopt(name);
      deps.sendHolds.set(name, false);
    },
    verified(name) {
      if (contacts.get(name) === undefined) throw new ClientError('UNKNOWN_ACCOUNT', `no contact named ${name}`);
      adopt(name);
      contacts.setVerified(name, true);
      deps.sendHolds.set(name, false);
    },
  };
}
