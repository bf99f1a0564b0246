/**
 * The Parley client: one account's device, its home directory and its link to the relay.
 *
 * `registerAccount` creates a home and an account; `openClient` loads an existing home;
 * `connect` authenticates and starts receiving. Sending goes through a durable outbox (a send
 * made offline goes out when the link returns); receiving decrypts, stores, emits an event and
 * only then acknowledges. The client only wires the parts together: trust in keys is the
 * directory's (`directory/`), one-to-one messaging is `messaging.ts` over `direct/`, groups
 * are `groups/`, and both outboxes run on `delivery/`'s runner. It holds no SQL.
 */
import {
  ACCOUNT_NAME_PATTERN,
  authSignedBytes,
  type CryptoProvider,
  compareSafetyNumberQr,
  computeSafetyNumber,
  constantTimeEqual,
  deleteAccountSignedBytes,
  encodeDeviceIdentityPublic,
  encodeSignedDeviceList,
  fromBase64Url,
  generateAccountIdentity,
  generateDeviceIdentity,
  type RandomSource,
  type SafetyNumber,
  signDeviceList,
  toBase64Url,
  utf8,
} from '@parley/protocol';
import { attachmentHook } from './attachments/attachment-hook.ts';
import { prepareAttachment, type SendFileOptions } from './attachments/send-file.ts';
import { type AttachmentSource, blobSource } from './attachments/source.ts';
import { createUploadStateStore } from './attachments/upload-state.ts';
import { type ConversationMessage, type Conversations, createConversations } from './conversation/conversation.ts';
import { createConversationStore } from './conversation/conversation-store.ts';
import { createDirectStore } from './direct/store.ts';
import {
  createDirectory,
  DEFAULT_KEY_CHANGE_POLICY,
  type Directory,
  type KeyChangePolicy,
} from './directory/directory.ts';
import { createListClaims } from './directory/list-claims.ts';
import { createDisappearing } from './disappearing/disappearing.ts';
import { DISAPPEARING_TIMERS, isTimerSeconds } from './disappearing/timers.ts';
import { ClientError, isClientError, isRelayRefusal } from './errors.ts';
import {
  type ClientEvent,
  type ConversationChange,
  type ConversationSummary,
  createEventHub,
  type WarningCode,
} from './events.ts';
import { createGroups, type GroupInfo, type Groups } from './groups/groups.ts';
import { type Contacts, createContacts } from './home/contacts.ts';
import { type ConversationFlag, createConversationSettings } from './home/conversation-settings.ts';
import { afterCommit, type HomeDatabase, whenDurable } from './home/database.ts';
import { prepareStock } from './home/prekey-stock.ts';
import { createProfileStore, type Profile, type ProfileStore } from './home/profile.ts';
import { createHomeProtocolStores } from './home/protocol-stores.ts';
import { acceptLink, type LinkDeps, removeDevice } from './linking.ts';
import { createMessaging, type Messaging } from './messaging.ts';
import { groupPeer, parsePeer } from './peer.ts';
import type { ClientPlatform } from './platform.ts';
import { openRelayLink, type RelayLink, requireConnected } from './relay/relay-link.ts';
import { checkServerUrl, isInsecureRemote } from './relay/server-url.ts';
import { createSearch, type SearchHit, type SearchOptions } from './search/search.ts';
import { createKtStore } from './transparency/kt-store.ts';
import { createTransparency, type DirectoryStatus, type KtTransport } from './transparency/transparency.ts';

/**
 * How often the client deletes expired disappearing messages in the background (it also does
 * before every read of the history, conversations or search, so nothing expired is ever shown).
 */
const SWEEP_INTERVAL_MS = 10_000;

/** Options shared by `registerAccount` and `openClient`. */
export interface ClientOptions {
  /**
   * The home holding this device's keys, sessions and history: a directory in Node, the name
   * of a saved home in this browser profile's IndexedDB in browsers.
   */
  readonly home: string;
  readonly provider?: CryptoProvider;
  readonly random?: RandomSource;
  readonly clock?: () => number;
  /** How long a request, or one connection attempt up to its handshake answer, may take (default 20 s). */
  readonly requestTimeoutMs?: number;
  readonly maxBackoffMs?: number;
  /**
   * Allow an `http://` (or `ws://`) server that is not on this machine: the connection is not
   * encrypted (messages still are, end to end). Without it such a server is refused with
   * `INSECURE_SERVER` before anything connects. `registerAccount` remembers it in the home, so
   * later clients of that home need not repeat it. Loopback servers (127.0.0.0/8, ::1,
   * localhost) never need it; `https://` servers are reached over `wss://`.
   */
  readonly allowInsecure?: boolean;
  /**
   * What a contact's key change does (see `KeyChangePolicy`). Given here, it overrides the
   * setting saved in the home (`setKeyChangePolicy`); without either it is `hold-all`.
   */
  readonly keyChangePolicy?: KeyChangePolicy;
  /**
   * Send delivery and read receipts, encrypted like messages. Given here, it overrides the
   * setting saved in the home (`setReadReceipts`); without either they are sent (on). Receipts
   * others send are applied either way.
   */
  readonly receipts?: boolean;
  /**
   * Key transparency checks (docs/protocol.md §20), on by default. `false` is for tests and
   * diagnosis only: served keys are then taken without a directory proof, heads are not
   * followed and nothing is monitored, which is exactly what the checks exist to prevent.
   */
  readonly keyTransparency?: boolean;
  /** How often this device checks its own directory entry while connected (default one hour; also at every connect). */
  readonly directoryMonitorMs?: number;
}

/** Options of `registerAccount`: where, under which name, and how long to try (`signal`, as in `connect`). */
export type RegisterOptions = ClientOptions & {
  readonly name: string;
  readonly server: string;
  readonly invite?: string;
  readonly signal?: AbortSignal;
  /** What this first device is called in the account's device list (default "first device"; the CLI gives the host name). */
  readonly deviceName?: string;
};

/** A contact's safety number and state, for `parley verify`. */
export interface ContactSafety {
  readonly name: string;
  readonly safetyNumber: SafetyNumber;
  readonly verified: boolean;
  /**
   * True when the contact's key changed and the user has not acted on it yet (sends are held;
   * the number shown is the new key's).
   */
  readonly changed: boolean;
  /**
   * True when the key is not the one whose number this device showed last time (`safety` was
   * called before, for another key): the number the user compared then is not this one.
   */
  readonly changedSinceShown: boolean;
  /** When this device last saw the contact's account key change (ms), if ever. */
  readonly changedAt: number | undefined;
  /**
   * Set while the contact's own messages announce a newer device list than the server serves
   * (it may be hiding a removed device): nothing is sent to them until the newer list arrives.
   */
  readonly staleDeviceList: { readonly announced: number; readonly trusted: number } | undefined;
  /**
   * The contact's entry in the server's key directory as this device last verified it: the
   * epoch and the value's version, and when (undefined when the server has no directory, or it
   * could not be looked up now).
   */
  readonly directory: { readonly epoch: number; readonly version: number; readonly checkedAt: number } | undefined;
}

/** One of the account's devices. */
export interface DeviceInfo {
  readonly id: number;
  readonly name: string | undefined;
  readonly current: boolean;
  /** When this device last received a message from it (ms), if ever. */
  readonly lastSeen: number | undefined;
}

/** An open client. */
export interface ParleyClient {
  readonly name: string;
  readonly device: number;
  readonly server: string;
  /**
   * Connects (authenticating with the device key) and starts receiving; reconnects by itself
   * afterwards. Without `signal` the first failed attempt rejects; with it, an attempt that is
   * reset or times out is retried until `signal` aborts (then `SERVER_UNREACHABLE`). A refused
   * connection or handshake rejects at once.
   */
  connect(signal?: AbortSignal): Promise<void>;
  /** Stores the message, queues it and sends it when connected. Resolves with its id once it is stored. */
  send(to: string, text: string): Promise<{ id: string }>;
  /**
   * Like `send`, but resolves once the server has durably accepted it, or rejects with why not.
   * `QUEUED` means it is in the outbox and goes out when the link is back: without `signal`,
   * at once when not connected; with `signal`, when it aborts first (meanwhile lost connections
   * are waited out).
   */
  sendAndWait(to: string, text: string, options?: { signal?: AbortSignal }): Promise<{ id: string }>;
  /**
   * Encrypts and uploads a file, then sends it to `to` as an attachment (docs/protocol.md §16):
   * `source` is a path (Node), a `Blob`/`File`, or an `AttachmentSource`. Resolves once the
   * server accepted the message. Rejects with `UPLOAD_FAILED`, `SERVER_REFUSED`
   * (`ATTACHMENT_TOO_LARGE`, `QUOTA_EXCEEDED`), `SERVER_UNREACHABLE` or `QUEUED`.
   */
  sendFile(to: string, source: string | Blob | AttachmentSource, options?: SendFileOptions): Promise<{ id: string }>;
  /** `sendFile` to a group: uploads once, then sends the attachment message to the group. */
  sendFileToGroup(
    groupId: string,
    source: string | Blob | AttachmentSource,
    options?: SendFileOptions,
  ): Promise<{ id: string }>;
  /** Events from now on. */
  events(signal?: AbortSignal): AsyncIterableIterator<ClientEvent>;
  /**
   * Resolves once the backlog queued before `connect` has been received and processed (after a
   * lost connection, once the server has delivered it again); rejects with `TIMEOUT` if `signal`
   * aborts first.
   */
  drained(signal?: AbortSignal): Promise<void>;
  /** True while the link to the server is up and authenticated. */
  isConnected(): boolean;
  /**
   * Resolves when no send or receive is in progress (queued sends wait for the link) and the
   * events of what was in progress have been emitted.
   */
  idle(): Promise<void>;
  /**
   * Accepts a contact's changed account key without comparing safety numbers ("send anyway"):
   * takes the new key and sends the messages held for the change, in order; resolves with their
   * ids once they are sent or back in the outbox. Refused with `UNTRUSTED_IDENTITY` for a
   * verified contact (verify again with `markVerified`); `UNKNOWN_ACCOUNT` if no contact.
   */
  acceptChange(name: string): Promise<{ released: readonly string[] }>;
  /** Drops our messages held for `name`'s key change (they become `failed`, never sent); returns how many. */
  discardHeld(name: string): number;
  /**
   * The safety number for a contact (fetching their key on first use). With `show` (the number
   * is being shown to the user), remembers the key whose number it returned, for
   * `changedSinceShown` next time.
   */
  safety(name: string, options?: { show?: boolean }): Promise<ContactSafety>;
  /**
   * Key transparency as this device sees it: the pinned directory key, the newest head held,
   * the last self-check of our own entry and any evidence kept (split views, inconsistencies,
   * mismatches). `active` is false for a server without a directory.
   */
  directoryStatus(): DirectoryStatus;
  /** Checks this account's own directory entry now (as done at connect and hourly); undefined when inactive. */
  checkDirectory(): Promise<DirectoryStatus['lastSelfCheck']>;
  /**
   * Marks `name` verified, given the safety number the user compared: its 60 digits (spaces
   * allowed) or the base64url QR payload. Refused with `SAFETY_NUMBER_MISMATCH` (nothing
   * marked) unless it is the number of the contact's current key; otherwise takes a changed key
   * and sends held messages, as `acceptChange`.
   */
  markVerified(name: string, compared: string): Promise<{ released: readonly string[] }>;
  /** The key-change policy in force (the option, else the home's setting, else `hold-all`). */
  keyChangePolicy(): KeyChangePolicy;
  /** Saves the key-change policy in the home (an option given to `openClient` still overrides it). */
  setKeyChangePolicy(policy: KeyChangePolicy): void;
  /**
   * Whether this home sends delivery and read receipts: the `receipts` option if given, else the
   * setting saved in the home (`setReadReceipts`), else true.
   */
  readReceipts(): boolean;
  /** Saves whether this home sends delivery and read receipts (read by every later client of it). */
  setReadReceipts(on: boolean): void;
  /**
   * The last `limit` (default 100) lines of a conversation (an account, or `group:ID` from
   * `formatPeer`), oldest first, with their ids, reactions, and edited/deleted marks.
   */
  history(peer: string, options?: number | { limit?: number }): ConversationMessage[];
  /**
   * Sends `text` to a conversation as a reply quoting its message `id` (the quote carries the
   * sender and the first 100 characters). Rejects with `MESSAGE_REJECTED` (`UNKNOWN_MESSAGE`,
   * `DELETED`) and sends nothing.
   */
  reply(peer: string, id: string, text: string): Promise<{ id: string }>;
  /**
   * Sets this account's one reaction to message `id` (exactly one emoji; `null` removes it).
   * `INVALID_ARGUMENT` for anything but one emoji; `MESSAGE_REJECTED` for an unknown or deleted message.
   */
  react(peer: string, id: string, emoji: string | null): Promise<{ id: string }>;
  /**
   * Replaces the text of this account's message `id`, within 24 h of sending it; receivers keep
   * the earlier text and show it edited. `MESSAGE_REJECTED` (`NOT_SENDER`, `TOO_LATE`,
   * `DELETED`) changes and sends nothing.
   */
  edit(peer: string, id: string, text: string): Promise<{ id: string }>;
  /**
   * Deletes this account's message `id` for everyone, within 24 h of sending it: every device
   * of every participant empties it and shows a tombstone. `MESSAGE_REJECTED` as `edit`.
   */
  deleteForEveryone(peer: string, id: string): Promise<{ id: string }>;
  /** The earlier texts of message `id`, oldest first, with when each was replaced. */
  editHistory(peer: string, id: string): { readonly text: string; readonly replacedAt: number }[];
  /**
   * Full-text search of this device's history (never sent anywhere): messages containing every
   * word of `text` (each word also matches as the start of a longer one), newest first, with a
   * snippet. Throws `INVALID_ARGUMENT` for a search with no words, over 500 characters, or a
   * limit outside 1–200.
   */
  search(text: string, options?: SearchOptions): SearchHit[];
  /**
   * Sets the disappearing-message timer of the conversation with account `peer` (or, with
   * `{ group }`, of a group): seconds, one of 300, 3600, 86400, 604800, 2419200 (5 minutes to 4
   * weeks), or null for off. Any participant may set it; it is saved, shown as a system line on
   * every device, and carried by every later message, which each device deletes that long after
   * storing it (docs/protocol.md §21). Any other value: `INVALID_ARGUMENT`, nothing changed.
   */
  setTimer(peer: string | { group: string }, seconds: number | null): Promise<void>;
  /** The conversation's disappearing-message timer in seconds, or null when off. */
  timer(peer: string | { group: string }): number | null;
  /** Every conversation (contacts and groups), most recent first, with unread counts. */
  conversations(): ConversationSummary[];
  /** Marks a conversation read up to its last message; sends read receipts if `receipts` is on. */
  markRead(peer: string): void;
  /**
   * Archives (or unarchives) a conversation on this device: `conversations()` still lists it,
   * with `archived` set, for a UI to keep it out of the main list. Emits `conversation-changed`.
   */
  setArchived(peer: string, archived: boolean): void;
  /** Mutes (or unmutes) a conversation: UIs raise no notification for it. Emits `conversation-changed`. */
  setMuted(peer: string, muted: boolean): void;
  /** Pins (or unpins) a conversation: `conversations()` lists pinned ones first. Emits `conversation-changed`. */
  setPinned(peer: string, pinned: boolean): void;
  /**
   * Blocks an account: its deliveries are dropped on receipt (acknowledged, never decrypted or
   * stored, no delivery or read receipt, no retry request), its lines in groups are not kept,
   * receipts still queued to it are dropped, and sends to it are refused with `BLOCKED`. The
   * server is not told. Emits `conversation-changed`.
   */
  block(name: string): void;
  /** Unblocks an account (what it sent meanwhile was dropped and stays lost). */
  unblock(name: string): void;
  /** The accounts this home blocked, by name. */
  blocked(): string[];
  /**
   * Deletes a conversation from this device: its history, unread mark and settings, and our
   * messages in it still waiting to be sent. The contact's keys (and verification) stay; a
   * group stays joined. Returns how many lines were deleted; `INVALID_ARGUMENT` if there is no
   * such conversation.
   */
  forgetConversation(peer: string): number;
  /**
   * Deletes this account on the server for good: every device, key, prekey, queue and
   * attachment of it (docs/protocol.md §11, \`delete-account\`). Needs the account key on this
   * device (\`NOT_ALLOWED\` otherwise) and a connection. Contacts sending to the name afterwards
   * are refused with \`UNKNOWN_ACCOUNT\`. The local home is left as it is: close the client and
   * delete it (the CLI and the browser client do).
   */
  deleteAccount(): Promise<void>;
  /** Links the new device showing `code` (see `startLink`); needs the account key on this device. */
  acceptLink(code: string, options?: { transferAccountKey?: boolean }): Promise<{ device: number; name: string }>;
  /** This account's devices as this device knows them. */
  devices(): DeviceInfo[];
  /**
   * Removes a device from the account: re-signs the device list without it, and sends the new
   * list to every contact and our other devices inside the encrypted channel (a server that keeps
   * serving the older list cannot hide the removal). Resolves once those notices went out or are
   * queued.
   */
  removeDevice(id: number): Promise<void>;
  /** Creates a group named `name` with this account as admin and adds `members` (all their devices). */
  createGroup(name: string, members: readonly string[]): Promise<{ id: string }>;
  /** Adds accounts (every device of each) to a group; admins only. */
  addToGroup(groupId: string, names: readonly string[]): Promise<void>;
  /** Removes accounts (every device of each) from a group; admins only. */
  removeFromGroup(groupId: string, names: readonly string[]): Promise<void>;
  /** Announces leaving; another member commits the removal. This device stops reading the group. */
  leaveGroup(groupId: string): Promise<void>;
  /** Renames a group and/or replaces its admins; admins only. */
  updateGroup(groupId: string, change: { name?: string; admins?: readonly string[] }): Promise<void>;
  /** Sends text to a group: one encryption, fanned out by the server. */
  sendToGroup(groupId: string, text: string): Promise<{ id: string }>;
  group(groupId: string): GroupInfo;
  groups(): GroupInfo[];
  close(): Promise<void>;
}

interface Runtime {
  readonly platform: ClientPlatform;
  readonly db: HomeDatabase;
  readonly provider: CryptoProvider;
  readonly random: RandomSource;
  readonly clock: () => number;
  readonly profiles: ProfileStore;
}

async function runtime(platform: ClientPlatform, options: ClientOptions): Promise<Runtime> {
  const db = await platform.openHome(options.home);
  return {
    platform,
    db,
    provider: options.provider ?? platform.provider(),
    random: options.random ?? platform.random(),
    clock: options.clock ?? Date.now,
    profiles: createProfileStore(db),
  };
}

/**
 * Creates an account `name` on `server` with this home's first device, uploads prekeys and
 * returns the connected client. Keys are saved before the server is asked, so a registration
 * whose answer was lost is finished by running it again: the same keys find the name already
 * theirs. A name that another account's keys hold is refused with `NAME_TAKEN`, and the keys made
 * for it are dropped so that the home can register another name. `signal` bounds
 * the connection as in `connect`.
 */
export async function registerAccountOn(platform: ClientPlatform, options: RegisterOptions): Promise<ParleyClient> {
  if (!ACCOUNT_NAME_PATTERN.test(options.name)) {
    throw new ClientError('INVALID_ARGUMENT', 'account names are 3-32 characters of a-z, 0-9, _, . and -');
  }
  // Before the home is made or anything connects.
  checkServerUrl(options.server, options.allowInsecure === true);
  const rt = await runtime(platform, options);
  try {
    let profile = rt.profiles.load();
    if (profile?.registered) {
      throw new ClientError('ALREADY_REGISTERED', `this home already holds the account ${profile.name}`);
    }
    if (profile !== undefined && (profile.name !== options.name || profile.server !== options.server)) {
      throw new ClientError(
        'ALREADY_REGISTERED',
        `this home holds the keys of an unfinished registration of ${profile.name} on ${profile.server}; run it again with that name and server to finish it, or use another home`,
      );
    }
    if (profile === undefined) {
      const account = await generateAccountIdentity(rt.provider, rt.random);
      const identity = await generateDeviceIdentity(rt.provider, rt.random);
      const entry = { id: 1, identity: encodeDeviceIdentityPublic(identity.publicIdentity) };
      const deviceList = await signDeviceList(rt.provider, account.privateKey, 1, [entry]);
      profile = {
        name: options.name,
        server: options.server,
        device: 1,
        registered: false,
        accountKey: account.publicKey,
        account,
        identity,
        deviceList,
      };
      rt.profiles.save(profile);
    }
    const p = profile;
    if (options.allowInsecure === true && isInsecureRemote(options.server)) rt.profiles.allowInsecure();
    const client = createClient(rt, options, p);
    try {
      await client.start('register', options.invite, options.signal);
    } catch (err) {
      if (!isRelayRefusal(err, 'NAME_TAKEN')) throw err;
      // A repeated registration whose earlier attempt reached the server: our keys already own
      // the name, and authenticate. If they do not, the name is someone else's.
      try {
        await client.start('auth', undefined, options.signal);
      } catch (authErr) {
        if (!isRelayRefusal(authErr, 'AUTH_FAILED')) throw authErr;
        // Someone else's name: these keys will never own it, so they go, and the same home
        // can try another name at once instead of being held to this one.
        rt.profiles.forget();
        await whenDurable(rt.db)?.catch(() => {});
        throw err;
      }
    }
    rt.profiles.markRegistered();
    // The first device is named like linked ones are, so device lists never show it nameless.
    if (rt.profiles.deviceNames()['1'] === undefined)
      rt.profiles.setDeviceName(1, options.deviceName ?? 'first device');
    // Registered. Prekeys and KeyPackages go up now; if the link dropped meanwhile, the next
    // connection uploads them (every connect tops both up), so that is not a failed registration.
    const offline = (err: unknown): void => {
      if (!isClientError(err, 'SERVER_UNREACHABLE') && !isClientError(err, 'TIMEOUT')) throw err;
    };
    await client.refillPreKeys().catch(offline);
    await client.refillKeyPackages().catch(offline);
    return client.api;
  } catch (err) {
    rt.db.close();
    throw err;
  }
}

/** Opens the client of an existing home (not yet connected). */
export async function openClientOn(platform: ClientPlatform, options: ClientOptions): Promise<ParleyClient> {
  const rt = await runtime(platform, options);
  const profile = rt.profiles.load();
  if (profile === undefined || !profile.registered) {
    rt.db.close();
    throw new ClientError('NOT_REGISTERED', `no account in ${options.home}; run \`parley register NAME\` first`);
  }
  const client = createClient(rt, options, profile);
  try {
    // A home that holds groups loads MLS now, so that `group()` and `groups()` answer at once.
    await client.prepareGroups();
  } catch (err) {
    rt.db.close();
    throw err;
  }
  return client.api;
}

/**
 * Whether `compared` (60 digits, spaces allowed, or a base64url QR payload) is `ours`. Anything
 * else, malformed included, is not.
 */
function sameSafetyNumber(ours: SafetyNumber, compared: string): boolean {
  const trimmed = compared.replace(/\s+/g, '');
  if (/^\d+$/.test(trimmed))
    return trimmed.length === ours.digits.length && constantTimeEqual(utf8(trimmed), utf8(ours.digits));
  try {
    return compareSafetyNumberQr(ours, fromBase64Url('safetyNumber', trimmed));
  } catch {
    // Not a QR payload (wrong length, version or alphabet): not the number either.
    return false;
  }
}

function createClient(rt: Runtime, options: ClientOptions, initial: Profile) {
  // Reassigned when our own device list changes (linking, removal, a newer list from the server).
  let profile = initial;
  const { db, provider, random, clock, profiles } = rt;
  // Events wait for the commit of what they report (the Node home groups its writes).
  const events = createEventHub((emit) => afterCommit(db, emit));
  const contacts: Contacts = createContacts(db, provider);
  const stores = createHomeProtocolStores(db, profile.identity, profile.name, () => profile.deviceList, contacts);
  let link: RelayLink | undefined;
  let drainedWaiters: (() => void)[] = [];
  let isDrained = false;
  let closed = false;

  const directStore = createDirectStore(db);
  const search = createSearch(db);
  const disappearing = createDisappearing(db, profiles);
  /** Deletes what expired by now (emitting `expired`): before every read of the history, and every few seconds. */
  const sweep = (): void => {
    for (const e of disappearing.sweep(clock())) events.emit({ type: 'expired', peer: e.peer, ids: e.ids });
  };
  const sweeper = setInterval(() => {
    try {
      sweep();
    } catch (err) {
      events.warn('EXPIRY_FAILED', err);
    }
  }, SWEEP_INTERVAL_MS);
  (sweeper as { unref?: () => void }).unref?.();
  const keyChangePolicy = (): KeyChangePolicy => {
    if (options.keyChangePolicy !== undefined) return options.keyChangePolicy;
    const saved = profiles.getText('key_change_policy');
    return saved === 'hold-all' || saved === 'block-verified' ? saved : DEFAULT_KEY_CHANGE_POLICY;
  };
  const readReceipts = (): boolean => options.receipts ?? profiles.getText('read_receipts') !== 'off';
  /** The safety number of `name`'s current key (the pending one if it changed). */
  /** `name`'s directory entry, looked up now when connected (else the last lookup of this session). */
  const contactDirectory = async (name: string): Promise<ContactSafety['directory']> => {
    if (!transparency.active()) return undefined;
    // A lookup that fails (offline, or refused: then evidence is kept) leaves the last verified one shown.
    if (link?.isConnected() === true) await transparency.lookup(name).catch(() => undefined);
    const l = transparency.lastLookup(name);
    return l && { epoch: l.epoch, version: l.version, checkedAt: l.at };
  };
  const safetyOf = async (name: string): Promise<{ key: Uint8Array; safetyNumber: SafetyNumber }> => {
    let contact = contacts.get(name);
    if (contact === undefined) {
      await directory.refresh(name);
      contact = contacts.get(name);
    }
    if (contact === undefined) throw new ClientError('UNKNOWN_ACCOUNT', `no account named ${name}`);
    const key = contact.pendingKey ?? contact.accountKey;
    const safetyNumber = await computeSafetyNumber(provider, {
      ourName: profile.name,
      ourAccountKey: profile.accountKey,
      theirName: name,
      theirAccountKey: key,
    });
    return { key, safetyNumber };
  };
  const ktEnabled = options.keyTransparency !== false;
  const ktTransport: KtTransport = {
    // The directory ops (docs/protocol.md §20) are newer than this SDK's RelayOps table on an
    // older protocol package: they are called by name, and their answers checked field by field.
    head: (from) => relayCall('kt-head', from === undefined ? {} : { from }),
    lookup: (name) => relayCall('kt-lookup', { name }),
  };
  const relayCall = (op: string, args: object): Promise<unknown> =>
    (requireConnected(link).request as unknown as (op: string, args: object) => Promise<unknown>)(op, args);
  const transparency = createTransparency({
    provider,
    clock,
    store: createKtStore(db),
    events,
    enabled: ktEnabled,
    transport: () => (link === undefined ? undefined : ktTransport),
    me: () => profile.name,
    ownAccountKey: () => profile.accountKey,
    ownList: () => profile.deviceList,
  });
  const directory: Directory = createDirectory({
    provider,
    clock,
    contacts,
    transparency,
    claims: createListClaims(db),
    events,
    keyChangePolicy: () => keyChangePolicy(),
    sendHolds: {
      get: (name) => (profiles.getNumber(`key_change_hold:${name}`) ?? 0) !== 0,
      set: (name, held) => profiles.setNumber(`key_change_hold:${name}`, held ? 1 : 0),
    },
    profile: () => profile,
    setOwnList: (list) => linkDeps.setOwnList(list),
    link: () => link,
    noteKeyChange: (name) => messaging.noteKeyChange(name),
    keyReplaced: (name, oldDevices) => messaging.keyReplaced(name, oldDevices),
    devicesDropped: (name, devices) => messaging.keyReplaced(name, devices),
  });

  // Replies, reactions, edits and deletes over both kinds of conversation; its transport picks
  // one-to-one messaging or the group by the conversation id.
  const conversations: Conversations = createConversations({
    store: createConversationStore(db),
    events,
    clock,
    newId: () => toBase64Url(random(16)),
    me: () => profile.name,
    historyRows: (peer, limit) => directStore.history(peer, limit),
    transport: {
      async send(peer, content, line, annotate) {
        const p = parsePeer(peer);
        if (p.kind === 'group') {
          groups.info(p.groupId);
          await groups.sendContent(p.groupId, content, line, annotate);
        } else await messaging.sendContent(p.name, content, line, annotate);
      },
    },
  });
  const settings = createConversationSettings(db);
  /** A conversation id this client could hold: an account name or a group's. */
  const checkPeer = (peer: string): void => {
    const p = parsePeer(peer);
    if (p.kind === 'account' ? !ACCOUNT_NAME_PATTERN.test(p.name) : p.groupId === '') {
      throw new ClientError('INVALID_ARGUMENT', `${JSON.stringify(peer)} is not a conversation name`);
    }
  };
  const setFlag = (peer: string, flag: ConversationFlag, on: boolean, change: ConversationChange): void => {
    checkPeer(peer);
    if (settings.set(peer, flag, on))
      afterCommit(db, () => events.emit({ type: 'conversation-changed', peer, change }));
  };
  const setBlocked = (name: string, on: boolean): void => {
    if (!ACCOUNT_NAME_PATTERN.test(name))
      throw new ClientError('INVALID_ARGUMENT', `${JSON.stringify(name)} is not an account name`);
    if (name === profile.name) throw new ClientError('INVALID_ARGUMENT', 'you cannot block your own account');
    if (settings.setBlocked(name, on, clock(), profile.name)) {
      afterCommit(db, () =>
        events.emit({ type: 'conversation-changed', peer: name, change: on ? 'blocked' : 'unblocked' }),
      );
    }
  };

  const uploads = createUploadStateStore(db);
  const messaging: Messaging = createMessaging({
    settings,
    uploads,
    store: directStore,
    conversations,
    directory,
    profiles,
    provider,
    random,
    clock,
    disappearing,
    profile: () => profile,
    receipts: readReceipts,
    stores,
    events,
    link: () => link,
    server: profile.server,
    ...(rt.platform.files === undefined ? {} : { fileSink: rt.platform.files.sink }),
  });

  const groups: Groups = createGroups({
    db,
    conversations,
    provider,
    random,
    clock,
    profile: () => profile,
    events,
    link: () => link,
    directory,
    disappearing,
    attachment: attachmentHook({
      server: profile.server,
      provider,
      events,
      fileSink: rt.platform.files?.sink,
    }),
  });
  // The group work each (re)connect starts (resubmit, flush the group outbox, top up): `idle`
  // waits for it, so a command that connects and closes sends what its group outbox held.
  let groupsOnConnected: Promise<void> = Promise.resolve();
  const idle = async (): Promise<void> => {
    // A key upload started on connect (a rotation, a refill) finishes before a command closes.
    await refilling.catch(() => {});
    await messaging.idle();
    await groupsOnConnected;
    await groups.idle();
  };

  /** A `.catch` handler that reports a background failure as a `warning` event. */
  const warn =
    (code: WarningCode) =>
    (err: unknown): void =>
      events.warn(code, err);

  // One refill at a time: each reads the server's counts afresh, so overlapping triggers never double the stock.
  let refilling: Promise<void> = Promise.resolve();
  const linkDeps: LinkDeps = {
    provider,
    random,
    contacts,
    profile: () => profile,
    setOwnList: (list) => {
      profiles.saveDeviceList(list);
      profile = { ...profile, deviceList: list };
    },
    deviceNames: () => profiles.deviceNames(),
    setDeviceName: (id, name) => profiles.setDeviceName(id, name),
    link: () => requireConnected(link),
  };

  const refillPreKeys = (): Promise<void> => {
    refilling = refilling
      // The previous refill's caller got its error; this one starts afresh either way.
      .catch(() => {})
      .then(async () => {
        const current = link;
        if (current === undefined || !current.isConnected()) return;
        const counts = await current.request('key-count', {});
        const upload = await prepareStock(db, profiles, provider, random, profile.identity, counts, clock());
        if (upload !== undefined) {
          await current.request('upload-keys', upload.args);
          upload.published();
        }
      });
    return refilling;
  };

  const start = async (mode: 'register' | 'auth', invite?: string, signal?: AbortSignal): Promise<void> => {
    const opened = openRelayLink({
      url: profile.server,
      allowInsecure: options.allowInsecure === true || profiles.insecureAllowed(),
      requestTimeoutMs: options.requestTimeoutMs,
      maxBackoffMs: options.maxBackoffMs,
      signal,
      openWebSocket: rt.platform.openWebSocket,
      beforeSend: () => whenDurable(db),
      onLink(l) {
        link = l;
      },
      handshakeAnswered(op, result) {
        const r = result as { token?: unknown; ktKey?: unknown; ktVrfKey?: unknown } | undefined;
        if (op === 'auth' && typeof r?.token === 'string') profiles.setText('auth_token', r.token);
        // The directory keys: pinned at registration, or on the first connect of an account
        // registered before the server had a directory (trust on first use, an event says so).
        if (ktEnabled) transparency.pinFromServer(r?.ktKey, r?.ktVrfKey, op === 'register');
      },
      async handshake(nonce) {
        const registering = mode === 'register' && !profiles.load()?.registered;
        const device = registering ? 0 : profile.device;
        const signature = toBase64Url(
          await provider.ed25519Sign(profile.identity.signingPrivateKey, authSignedBytes(nonce, profile.name, device)),
        );
        if (!registering) {
          // The connection token the last `auth` returned, read afresh on every connect: a copy of
          // this home presents an older one once this home has connected again (`key-in-use`).
          const token = profiles.getText('auth_token');
          return {
            op: 'auth',
            args: { name: profile.name, device, signature, ...(token === undefined ? {} : { token }) },
          };
        }
        return {
          op: 'register',
          args: {
            name: profile.name,
            accountKey: toBase64Url(profile.accountKey),
            identity: toBase64Url(encodeDeviceIdentityPublic(profile.identity.publicIdentity)),
            deviceList: toBase64Url(encodeSignedDeviceList(profile.deviceList)),
            signature,
            ...(invite === undefined ? {} : { invite }),
          },
        };
      },
      onFrame(frame) {
        if (frame.type === 'deliver') {
          if (frame.kind === 'group' || frame.kind === 'welcome') groups.receive(frame);
          else messaging.receive(frame);
        } else if (frame.type === 'keys-low') void refillPreKeys().catch(warn('PREKEY_REFILL_FAILED'));
        else if (frame.type === 'key-packages-low')
          void groups.refillKeyPackages().catch(warn('KEY_PACKAGE_REFILL_FAILED'));
        else if (frame.type === 'stock-drained') {
          // Someone fetches this account's keys faster than the server's per-target limit: refill
          // now rather than at the low mark, and let the user know.
          events.emit({ type: 'stock-drained', stock: frame.stock });
          if (frame.stock === 'prekeys') void refillPreKeys().catch(warn('PREKEY_REFILL_FAILED'));
          else void groups.refillKeyPackages().catch(warn('KEY_PACKAGE_REFILL_FAILED'));
        } else if (frame.type === 'key-in-use') {
          events.emit({ type: 'key-in-use', device: frame.device, thisDevice: frame.device === profile.device });
        } else if (frame.type === 'drained') {
          // After the commit of what the backlog wrote, so its events are out before `drained`.
          void idle().then(() =>
            afterCommit(db, () => {
              isDrained = true;
              for (const w of drainedWaiters) w();
              drainedWaiters = [];
              events.emit({ type: 'drained' });
            }),
          );
        }
      },
      onState(state) {
        events.emit({ type: 'connection', state });
        if (state === 'connected') {
          void refillPreKeys().catch(warn('PREKEY_REFILL_FAILED'));
          groupsOnConnected = groups.onConnected().catch(warn('GROUP_RESUME_FAILED'));
          messaging.flushOutbox();
          void monitorDirectory();
        }
      },
    });
    try {
      link = await opened;
    } catch (err) {
      // No link after all (onLink set the failed one): a later `connect` starts afresh.
      link = undefined;
      throw err;
    }
    messaging.flushOutbox();
  };

  // Self-monitoring (docs/protocol.md §20): our own entry at every connect and at least hourly.
  let monitoring: Promise<unknown> = Promise.resolve();
  const monitorDirectory = (): Promise<unknown> => {
    if (!transparency.active()) return monitoring;
    monitoring = monitoring
      // The previous check already reported its failure (a warning event); this one starts afresh.
      .catch(() => {})
      .then(async () => {
        // A sibling device may have changed our list: take the newest signed one first.
        await directory.refresh(profile.name);
        return transparency.selfCheck();
      })
      .catch(warn('DIRECTORY_CHECK_FAILED'));
    return monitoring;
  };
  const monitorTimer = setInterval(
    () => {
      if (link?.isConnected() === true) void monitorDirectory();
    },
    options.directoryMonitorMs ?? 60 * 60 * 1000,
  );
  (monitorTimer as { unref?: () => void }).unref?.();
  // Served values taken before they reached the directory (a new account, a new device list)
  // are looked up again every 15 s until they are in it, or refused after the grace.
  const pendingTimer = setInterval(() => {
    if (link?.isConnected() === true) {
      monitoring = monitoring.then(() => transparency.recheckPending()).catch(warn('DIRECTORY_CHECK_FAILED'));
    }
  }, 15_000);
  (pendingTimer as { unref?: () => void }).unref?.();

  const sourceOf = async (source: string | Blob | AttachmentSource): Promise<AttachmentSource> => {
    if (typeof source !== 'string') return source instanceof Blob ? blobSource(source) : source;
    if (rt.platform.files === undefined) {
      throw new ClientError('INVALID_ARGUMENT', 'this platform sends Blobs, not file paths');
    }
    return rt.platform.files.source(source);
  };

  const api: ParleyClient = {
    name: profile.name,
    device: profile.device,
    server: profile.server,
    async connect(signal) {
      if (link !== undefined) return;
      await start('auth', undefined, signal);
      // A freshly linked device has no prekeys on the server yet: publish them before going on.
      await refillPreKeys().catch(warn('PREKEY_REFILL_FAILED'));
      await groups.refillKeyPackages().catch(warn('KEY_PACKAGE_REFILL_FAILED'));
    },
    async send(to, text) {
      return messaging.send(to, text, false);
    },
    async sendAndWait(to, text, opts) {
      return messaging.send(to, text, true, opts?.signal);
    },
    async sendFile(to, source, opts) {
      return messaging.sendFile(to, await sourceOf(source), opts);
    },
    async sendFileToGroup(groupId, source, opts = {}) {
      groups.info(groupId);
      const { content, line } = await prepareAttachment(
        {
          provider,
          random,
          clock,
          server: profile.server,
          link: () => link,
          newId: () => toBase64Url(random(16)),
          uploads,
        },
        await sourceOf(source),
        opts,
      );
      return groups.sendAttachment(groupId, content, line);
    },
    events(signal) {
      return events.subscribe(signal);
    },
    drained(signal) {
      if (isDrained) return idle().then(() => new Promise<void>((resolve) => afterCommit(db, resolve)));
      return new Promise((resolve, reject) => {
        const onAbort = (): void => {
          drainedWaiters = drainedWaiters.filter((w) => w !== done);
          reject(new ClientError('TIMEOUT', 'the server did not finish delivering waiting messages in time'));
        };
        const done = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        drainedWaiters.push(done);
      });
    },
    // Events are emitted once the writes of their turn are committed: idle waits for that too,
    // so whatever was in progress has been said when it resolves.
    idle: () => idle().then(() => new Promise<void>((resolve) => afterCommit(db, resolve))),
    isConnected() {
      return link?.isConnected() ?? false;
    },
    async acceptChange(name) {
      return { released: await messaging.acceptChange(name) };
    },
    discardHeld: (name) => messaging.discardHeld(name),
    async safety(name, opts) {
      const { key, safetyNumber } = await safetyOf(name);
      const contact = contacts.get(name) as NonNullable<ReturnType<Contacts['get']>>;
      const shownKey = `safety_shown:${name}`;
      const lastShown = profiles.getText(shownKey);
      if (opts?.show === true) profiles.setText(shownKey, toBase64Url(key));
      return {
        name,
        safetyNumber,
        verified: contact.verified,
        changed: directory.sendsHeld(name),
        changedSinceShown: lastShown !== undefined && lastShown !== toBase64Url(key),
        changedAt: contact.changedAt,
        staleDeviceList: directory.staleList(name),
        directory: await contactDirectory(name),
      };
    },
    directoryStatus: () => transparency.status(),
    async checkDirectory() {
      await monitorDirectory();
      return transparency.status().lastSelfCheck;
    },
    async markVerified(name, compared) {
      const { key, safetyNumber } = await safetyOf(name);
      if (!sameSafetyNumber(safetyNumber, compared)) {
        throw new ClientError(
          'SAFETY_NUMBER_MISMATCH',
          `the safety number given does not match the one for ${name}'s current key; nothing was marked verified`,
        );
      }
      profiles.setText(`safety_shown:${name}`, toBase64Url(key));
      return { released: await messaging.verified(name) };
    },
    keyChangePolicy,
    setKeyChangePolicy(policy) {
      if (policy !== 'hold-all' && policy !== 'block-verified')
        throw new ClientError('INVALID_ARGUMENT', 'the key-change policy is hold-all or block-verified');
      profiles.setText('key_change_policy', policy);
    },
    readReceipts,
    setReadReceipts(on) {
      profiles.setText('read_receipts', on ? 'on' : 'off');
    },
    history(peer, options) {
      const limit = typeof options === 'number' ? options : (options?.limit ?? 100);
      sweep();
      return conversations.history(peer, limit);
    },
    reply: (peer, id, text) => conversations.reply(peer, id, text),
    react: (peer, id, emoji) => conversations.react(peer, id, emoji),
    edit: (peer, id, text) => conversations.edit(peer, id, text),
    deleteForEveryone: (peer, id) => conversations.deleteForEveryone(peer, id),
    editHistory: (peer, id) => {
      sweep();
      return conversations.editHistory(peer, id);
    },
    conversations: () => {
      sweep();
      return messaging.conversations();
    },
    search: (text, opts) => {
      sweep();
      return search(text, opts);
    },
    async setTimer(peer, seconds) {
      if (seconds !== null && !isTimerSeconds(seconds)) {
        throw new ClientError(
          'INVALID_ARGUMENT',
          `a disappearing-message timer is off or one of ${DISAPPEARING_TIMERS.map((t) => t.words).join(', ')}`,
        );
      }
      if (typeof peer === 'string') messaging.setTimer(peer, seconds ?? undefined);
      else await groups.setTimer(peer.group, seconds ?? undefined);
    },
    timer(peer) {
      return disappearing.timer(typeof peer === 'string' ? peer : groupPeer(peer.group)) ?? null;
    },
    markRead: (peer) => messaging.markRead(peer),
    setArchived: (peer, on) => setFlag(peer, 'archived', on, on ? 'archived' : 'unarchived'),
    setMuted: (peer, on) => setFlag(peer, 'muted', on, on ? 'muted' : 'unmuted'),
    setPinned: (peer, on) => setFlag(peer, 'pinned', on, on ? 'pinned' : 'unpinned'),
    block: (name) => setBlocked(name, true),
    unblock: (name) => setBlocked(name, false),
    blocked: () => settings.blocked(),
    forgetConversation(peer) {
      checkPeer(peer);
      const known = messaging.conversations().some((c) => c.peer === peer) || settings.all().has(peer);
      if (!known) throw new ClientError('INVALID_ARGUMENT', `there is no conversation with ${peer} on this device`);
      const n = settings.forget(peer, profile.name);
      afterCommit(db, () => events.emit({ type: 'conversation-changed', peer, change: 'forgotten' }));
      return n;
    },
    async deleteAccount() {
      const account = profile.account;
      if (account === undefined) {
        throw new ClientError(
          'NOT_ALLOWED',
          'only a device holding the account key (the first device, or one linked with the key transferred) can delete the account',
        );
      }
      const signature = await provider.ed25519Sign(
        account.privateKey,
        deleteAccountSignedBytes(profile.name, profile.accountKey),
      );
      await requireConnected(link).request('delete-account', { signature: toBase64Url(signature) });
    },
    async acceptLink(code, opts) {
      const linked = await acceptLink(linkDeps, code, opts);
      // The new device joins every group this account is in, added by this device (§14.4) once
      // it has connected and published KeyPackages; `idle()` waits for that.
      void groups.syncOwnDevices();
      return linked;
    },
    devices() {
      const names = profiles.deviceNames();
      return profile.deviceList.devices.map((d) => ({
        id: d.id,
        name: names[String(d.id)],
        current: d.id === profile.device,
        lastSeen: directStore.lastSeen(profile.name, d.id),
      }));
    },
    async removeDevice(id) {
      await removeDevice(linkDeps, id);
      // The removal reaches contacts and our other devices inside the encrypted channel, so a
      // server that keeps serving the older list cannot hide it (docs/protocol.md §10).
      messaging.announceDeviceList(contacts.all().map((c) => c.name));
      await groups.syncOwnDevices();
      // The notices are out (or queued, if the link dropped) before the caller closes the client.
      await messaging.idle();
    },
    createGroup: (name, members) => groups.create(name, members),
    addToGroup: (groupId, names) => groups.add(groupId, names),
    removeFromGroup: (groupId, names) => groups.remove(groupId, names),
    leaveGroup: (groupId) => groups.leave(groupId),
    updateGroup: (groupId, change) => groups.setMeta(groupId, change),
    sendToGroup: (groupId, text) => groups.send(groupId, text),
    group: (groupId) => groups.info(groupId),
    groups: () => groups.list(),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(monitorTimer);
      clearInterval(pendingTimer);
      clearInterval(sweeper);
      groups.stop();
      messaging.stop();
      link?.close();
      await idle();
      await monitoring;
      events.end();
      await whenDurable(db)?.catch(warn('SAVE_FAILED'));
      db.close();
    },
  };

  return {
    api,
    start,
    refillPreKeys,
    refillKeyPackages: () => groups.refillKeyPackages(),
    prepareGroups: () => groups.prepare(),
  };
}
