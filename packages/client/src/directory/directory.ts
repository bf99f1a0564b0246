/**
 * The directory: which account keys and device lists this device trusts. It pins a contact's
 * account key on first sight and checks every device list the server serves against it (own
 * and contacts'), refuses rollbacks, and applies the key-change policy. It never goes back to
 * an older list than one it has seen, and it keeps the newest version an account's own messages
 * announced (docs/protocol.md §10, "Never go back"): while the server serves an older one,
 * nothing is sent to that account. One-to-one and group messaging both ask it which devices an
 * account has; neither decides trust on its own.
 */
import {
  type CryptoProvider,
  constantTimeEqual,
  type DeviceListEntry,
  decodeSignedDeviceList,
  encodeSignedDeviceList,
  fromBase64Url,
  type SignedDeviceList,
  toBase64Url,
  verifyDeviceList,
} from '@parley/protocol';
import { ClientError, isClientError, isRelayRefusal } from '../errors.ts';
import type { EventHub } from '../events.ts';
import type { Contact, Contacts } from '../home/contacts.ts';
import type { Profile } from '../home/profile.ts';
import { type RelayLink, requireConnected } from '../relay/relay-link.ts';
import type { Transparency } from '../transparency/transparency.ts';
import { deviceListHash, type ListClaim, type ListClaims, satisfies } from './list-claims.ts';

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
  /** The device-list versions accounts' messages announced and no verified list answered yet. */
  readonly claims: ListClaims;
  readonly events: EventHub;
  /**
   * Key transparency (docs/protocol.md §20): every served key and list of another account is
   * checked against the directory's lookup proof before anything else looks at it. Absent only
   * in unit tests of the directory alone.
   */
  readonly transparency?: Transparency;
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
  /** A newer list of `name`'s no longer has these devices: drop the sessions with them. */
  devicesDropped(name: string, devices: readonly DeviceListEntry[]): void;
}

/** This device's device-list stamp, carried in every content it sends (docs/protocol.md §10). */
export interface OwnStamp {
  readonly dlv: number;
  readonly dlh: string;
  /** The newest directory head this device holds (base64url signed head): gossip (docs/protocol.md §20). */
  readonly kth?: string;
}

/** Trust in accounts' keys and device lists. */
export interface Directory {
  /**
   * Pins or checks a served account key and device list (throws on an unaccepted key change).
   * `kt` is the directory's lookup answer that came with them: once a directory key is pinned it
   * must prove exactly them (`KEY_NOT_IN_DIRECTORY` otherwise, nothing is pinned or used).
   */
  checkServed(name: string, accountKey: string, deviceList: string, kt: unknown): Promise<void>;
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
  /**
   * The device-list version `name`'s own messages announced that the server has not served yet,
   * with the version trusted meanwhile; undefined when the trusted list is current. While it is
   * set, nothing is sent to `name`.
   */
  staleList(name: string): { readonly announced: number; readonly trusted: number } | undefined;
  /** Our account's current device-list version and the base64url SHA-256 of that signed list. */
  ownStamp(): OwnStamp;
  /**
   * An authenticated message of `name` (a contact, or our own account) announced device-list
   * `version` with SHA-256 `hash`. If the trusted list is older, the announcement is kept and the
   * account's list fetched; while the server does not serve it, a `device-list-stale` event is
   * emitted and sending to `name` is refused with `INVALID_DEVICE_LIST`. Never throws: a fetch
   * that fails leaves the claim open for the next send to check.
   */
  noteAnnounced(name: string, version: number, hash: string): Promise<void>;
  /**
   * A device-list notice from `name` inside the encrypted channel: the encoded signed list is
   * checked against the pinned account key (our own for our own account) and taken if newer;
   * an older or equal one is ignored (never go back). Returns whether it was taken.
   */
  adoptNotice(name: string, listBytes: Uint8Array): Promise<boolean>;
  /**
   * An authenticated content of `name` carried the newest directory head its device holds
   * (`kth`): a different head for an epoch held here is a split view (event, evidence, sends to
   * `name` stop). Never throws: a failed comparison is tried with the next message.
   */
  noteGossip(name: string, head: string): Promise<void>;
}

/** The error every refused send to a contact with a changed key gets. */
export function keyChangedError(name: string): ClientError {
  return new ClientError(
    'UNTRUSTED_IDENTITY',
    `${name}'s safety number changed (their account key was replaced); nothing was sent to the new key`,
  );
}

/** The error a send to an account whose announced device list the server does not serve gets. */
function staleListError(name: string, claim: ListClaim, trusted: number): ClientError {
  return new ClientError(
    'INVALID_DEVICE_LIST',
    `${name}'s messages announce device list version ${claim.version}, but the server serves version ${trusted} (it may be hiding a removed device); nothing is sent to ${name} until the newer list arrives`,
  );
}

/** Creates the directory. */
export function createDirectory(deps: DirectoryDeps): Directory {
  const { contacts, claims, provider, clock, events } = deps;
  const me = (): string => deps.profile().name;
  const requireLink = (): RelayLink => requireConnected(deps.link());

  /** The signed list trusted for an account: our own, or the contact's pinned one. */
  const trustedList = (name: string): SignedDeviceList | undefined =>
    name === me() ? deps.profile().deviceList : contacts.get(name)?.deviceList;

  /** The account's announced list the trusted list does not answer yet (an answered claim is closed). */
  const openClaim = (name: string): ListClaim | undefined => {
    const claim = claims.get(name);
    if (claim === undefined) return undefined;
    const trusted = trustedList(name);
    if (trusted !== undefined && satisfies(trusted, claim)) {
      claims.clear(name);
      return undefined;
    }
    return claim;
  };

  /** Takes the contact's pending key: sessions with the old devices are dropped. */
  const adopt = (name: string): void => {
    const old = contacts.get(name);
    if (old?.pendingKey === undefined) return;
    contacts.acceptPending(name);
    // The announced versions were of the old key's lists; the new key's start afresh.
    claims.clear(name);
    deps.keyReplaced(name, old.deviceList.devices);
  };

  const sendsHeld = (name: string): boolean => contacts.get(name)?.pendingKey !== undefined || deps.sendHolds.get(name);

  const checkServed = async (name: string, accountKey: string, deviceList: string, kt: unknown): Promise<void> => {
    const key = fromBase64Url('accountKey', accountKey);
    const list = fromBase64Url('deviceList', deviceList);
    // A contact already pinned here: a key change newer than the directory's head is pending
    // (and held by the key-change policy); a first contact's key must be the directory's.
    await deps.transparency?.verifyServed(name, kt, key, list, contacts.get(name) !== undefined);
    const result = await contacts.checkServedList(name, key, list, clock());
    if (result.status !== 'changed') {
      openClaim(name);
      return;
    }
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
    openClaim(me());
  };

  const refresh = async (name: string): Promise<void> => {
    if (name === me()) return refreshOwnList();
    try {
      const r = await requireLink().request('get-account', { name });
      await checkServed(name, r.accountKey, r.deviceList, (r as { kt?: unknown }).kt);
    } catch (err) {
      if (isRelayRefusal(err, 'UNKNOWN_ACCOUNT'))
        throw new ClientError('UNKNOWN_ACCOUNT', `no account named ${name} on the server`);
      throw err;
    }
  };

  const trustedDevices = (name: string): readonly DeviceListEntry[] => trustedList(name)?.devices ?? [];

  /** Throws `INVALID_DEVICE_LIST` while `name`'s messages announce a list the server does not serve. */
  const requireCurrentList = async (name: string): Promise<void> => {
    if (openClaim(name) === undefined) return;
    await refresh(name);
    const claim = openClaim(name);
    if (claim !== undefined) throw staleListError(name, claim, trustedList(name)?.version ?? 0);
  };

  let stamp: { list: SignedDeviceList; value: OwnStamp } | undefined;

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
      if (name === me()) return requireCurrentList(name);
      deps.transparency?.requireSendable(name);
      const c = contacts.get(name);
      if (c === undefined) await refresh(name);
      else if (sendsHeld(name)) throw keyChangedError(name);
      else await requireCurrentList(name);
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
    staleList(name) {
      const open = openClaim(name);
      return open === undefined ? undefined : { announced: open.version, trusted: trustedList(name)?.version ?? 0 };
    },
    ownStamp() {
      const list = deps.profile().deviceList;
      if (stamp?.list !== list) {
        stamp = { list, value: { dlv: list.version, dlh: toBase64Url(deviceListHash(list)) } };
      }
      const kth = deps.transparency?.gossip();
      return kth === undefined ? stamp.value : { ...stamp.value, kth };
    },
    async noteAnnounced(name, version, hash) {
      const trusted = trustedList(name);
      if (trusted === undefined) return;
      const claim = { version, hash: fromBase64Url('dlh', hash) };
      if (satisfies(trusted, claim)) return;
      claims.raise(name, claim);
      try {
        await refresh(name);
      } catch (err) {
        // A key change waiting for the user, or an older list served (rollback refused): the
        // claim stays open, and sends to `name` are refused until it is answered (below).
        // Anything else (no answer, the link dropped) says nothing about the server's list: the
        // claim stays open and the next send to `name` fetches it again before refusing.
        if (!isClientError(err, 'UNTRUSTED_IDENTITY') && !isClientError(err, 'INVALID_DEVICE_LIST')) return;
      }
      if (name !== me() && contacts.get(name)?.pendingKey !== undefined) return;
      const open = openClaim(name);
      if (open !== undefined) {
        events.emit({
          type: 'device-list-stale',
          name,
          announced: open.version,
          trusted: trustedList(name)?.version ?? 0,
        });
      }
    },
    async noteGossip(name, head) {
      try {
        await deps.transparency?.noteGossip(name, head);
      } catch (err) {
        // Catching up with a newer head failed: offline, or the head was refused (then the
        // refusal is recorded as evidence already). The next message gossips again.
        if (!isClientError(err)) throw err;
      }
    },
    async adoptNotice(name, listBytes) {
      const own = name === me();
      const contact = own ? undefined : contacts.get(name);
      if (!own && (contact === undefined || contact.pendingKey !== undefined)) return false;
      const key = own ? deps.profile().accountKey : (contact?.accountKey as Uint8Array);
      let list: SignedDeviceList;
      try {
        list = decodeSignedDeviceList(listBytes);
        await verifyDeviceList(provider, key, list);
      } catch {
        // Not signed by the pinned account key: the notice is not taken (the sender's device is
        // authenticated, so this is a bug or a misbehaving device, never the server).
        return false;
      }
      const trusted = trustedList(name);
      if (trusted === undefined || list.version <= trusted.version) return false;
      const dropped = trusted.devices.filter(
        (d) => !list.devices.some((n) => n.id === d.id && constantTimeEqual(n.identity, d.identity)),
      );
      if (own) deps.setOwnList(list);
      else await contacts.checkServedList(name, key, encodeSignedDeviceList(list), clock());
      deps.devicesDropped(name, dropped);
      openClaim(name);
      return true;
    },
  };
}
