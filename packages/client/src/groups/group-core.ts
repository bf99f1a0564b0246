/**
 * What every part of the group layer shares (docs/protocol.md §14.5): the one lock that
 * serialises group state changes, the stored and cached MLS states, the credential check
 * ts-mls runs for every leaf, and the conversation lines groups write to the history.
 */

import {
  type CryptoProvider,
  constantTimeEqual,
  type DeviceListEntry,
  decodeDeviceIdentityPublic,
  type GroupProtocol,
  loadGroupProtocol,
  type RandomSource,
  toBase64Url,
  type WireGroupMember,
} from '@parley/protocol';
import type { ClientConfig, GroupDevice, GroupState } from '@parley/protocol/groups';
import type { AttachmentHook } from '../attachments/attachment-hook.ts';
import type { Conversations } from '../conversation/conversation.ts';
import type { Directory } from '../directory/directory.ts';
import type { Disappearing } from '../disappearing/disappearing.ts';
import { ClientError, isClientError } from '../errors.ts';
import { type EventHub, type MessageRow, type StoredMessage, storedMessageFromRow } from '../events.ts';
import type { HomeDatabase } from '../home/database.ts';
import type { Profile } from '../home/profile.ts';
import { statement } from '../home/statement.ts';
import { groupPeer } from '../peer.ts';
import { type RelayLink, requireConnected } from '../relay/relay-link.ts';
import { createGroupStore, type GroupStore, type StoredGroup } from './group-store.ts';

/** How long a rebase waits for the commit that moved the epoch to arrive. */
const REBASE_WAIT_MS = 15_000;

/** A group as the SDK reports it. */
export interface GroupInfo {
  readonly id: string;
  readonly name: string;
  readonly admins: readonly string[];
  readonly members: readonly { readonly name: string; readonly devices: readonly number[] }[];
  readonly epoch: number;
  readonly status: 'active' | 'removed' | 'left';
}

/** What groups need from the client. */
export interface GroupsDeps {
  readonly db: HomeDatabase;
  readonly provider: CryptoProvider;
  readonly random: RandomSource;
  readonly clock: () => number;
  profile(): Profile;
  readonly events: EventHub;
  link(): RelayLink | undefined;
  /** Trust in accounts' keys and device lists, shared with one-to-one messaging. */
  readonly directory: Directory;
  /** What to do with an attachment message (its line and `attachment` event). */
  readonly attachment?: AttachmentHook;
  /** Replies, reactions, edits and deletes (docs/protocol.md §12.1). */
  readonly conversations?: Conversations;
  /** Disappearing-message timers and expiry (docs/protocol.md §21). */
  readonly disappearing?: Disappearing;
}

/** One line of a group conversation, as the messages table holds it. */
export interface GroupLine {
  readonly id: string;
  readonly groupId: string;
  readonly direction: 'in' | 'out';
  readonly sender: string;
  readonly senderDevice: number;
  readonly text: string;
  readonly sentAt: number;
  readonly receivedAt: number | null;
  readonly status: 'pending' | 'sent' | 'received';
}

/** The shared part of the group layer. */
export interface GroupCore {
  readonly deps: GroupsDeps;
  readonly store: GroupStore;
  /**
   * Loads the group protocol (`@parley/protocol/groups`, MLS) if it is not yet loaded. `locked`
   * does it before every state change; `createGroups().prepare` when the home holds groups.
   */
  ready(): Promise<void>;
  /** The loaded group protocol; throws (a bug) before `ready()` has settled. */
  mls(): GroupProtocol;
  /** The ts-mls configuration: credential check and cipher suite (loaded, as `mls()`). */
  config(): ClientConfig;
  me(): string;
  myDevice(): number;
  newId(): string;
  requireLink(): RelayLink;
  /**
   * Runs `fn` after every earlier state change of this client's groups has finished, with the
   * group protocol loaded.
   */
  locked<T>(fn: () => Promise<T>): Promise<T>;
  /** Settles once no state change is running or queued. */
  quiet(): Promise<unknown>;
  /** The signing key an account's signed device list gives a device, if it lists it. */
  listedKey(entries: readonly DeviceListEntry[], device: number): Uint8Array | undefined;
  /** The stored group, or UNKNOWN_GROUP. */
  row(groupId: string): StoredGroup;
  load(groupId: string): GroupState;
  save(groupId: string, state: GroupState, status?: StoredGroup['status']): void;
  /** Drops a state from the cache (the group was left). */
  forget(groupId: string): void;
  /** Resolves once the group reached `epoch` (or is no longer active); rejects after a while. */
  waitForEpoch(groupId: string, epoch: number): Promise<void>;
  /** The delivery list the server should hold for a state: every leaf, grouped by account. */
  membersWire(state: GroupState): WireGroupMember[];
  info(groupId: string): GroupInfo;
  /** Stores a conversation line (once per id). */
  insertLine(line: GroupLine): void;
  setLineStatus(id: string, status: 'sent' | 'failed'): void;
  /** Emits the `message` event of a stored line. */
  emitLine(sender: string, id: string): StoredMessage | undefined;
  /** Stores and emits a system line ("alice added bob"). */
  systemLine(groupId: string, text: string): void;
  /**
   * Whether a credential check since the last `resetTransientFailure` could not reach the
   * server: the delivery being processed is then retried, not refused.
   */
  transientFailure(): boolean;
  resetTransientFailure(): void;
}

/** Creates the shared part over the client's dependencies. */
export function createGroupCore(deps: GroupsDeps): GroupCore {
  const { db, random, clock, events } = deps;
  const store = createGroupStore(db);
  const me = () => deps.profile().name;
  const cache = new Map<string, GroupState>();
  const epochWaiters = new Set<() => void>();
  let lock: Promise<unknown> = Promise.resolve();
  let transient = false;

  const listedKey = (entries: readonly DeviceListEntry[], device: number): Uint8Array | undefined => {
    const entry = entries.find((e) => e.id === device);
    return entry === undefined ? undefined : decodeDeviceIdentityPublic(entry.identity).signingKey;
  };

  /** ts-mls's credential check: the leaf key must be the device's key on the account's signed list. */
  const validate = async ({ account, device }: GroupDevice, signingKey: Uint8Array): Promise<boolean> => {
    let key = listedKey(deps.directory.trustedDevices(account), device);
    if (key === undefined || !constantTimeEqual(key, signingKey)) {
      try {
        await deps.directory.refresh(account);
      } catch (err) {
        if (!isClientError(err, 'UNKNOWN_ACCOUNT') && !isClientError(err, 'UNTRUSTED_IDENTITY')) transient = true;
        return false;
      }
      key = listedKey(deps.directory.trustedDevices(account), device);
    }
    return key !== undefined && constantTimeEqual(key, signingKey);
  };

  // The group protocol and the configuration built on it, once loaded.
  let loaded: { readonly mls: GroupProtocol; readonly config: ClientConfig } | undefined;
  const ready = async (): Promise<void> => {
    if (loaded !== undefined) return;
    const mls = await loadGroupProtocol();
    loaded ??= { mls, config: mls.groupClientConfig(validate, deps.provider) };
  };
  const requireLoaded = () => {
    // Every path to MLS goes through `locked` or `prepare`; reaching here first is a bug.
    if (loaded === undefined) throw new Error('the group protocol was used before it was loaded');
    return loaded;
  };

  const row = (groupId: string): StoredGroup => {
    const r = store.get(groupId);
    if (r === undefined) throw new ClientError('UNKNOWN_GROUP', 'no such group on this device');
    return r;
  };

  const load = (groupId: string): GroupState => {
    const cached = cache.get(groupId);
    if (cached !== undefined) return cached;
    const stored = row(groupId);
    const { mls, config } = requireLoaded();
    const state = mls.decodeGroupRecord(stored.record, config, stored.tree);
    cache.set(groupId, state);
    return state;
  };

  const membersWire = (state: GroupState): WireGroupMember[] => {
    const byAccount = new Map<string, number[]>();
    for (const l of requireLoaded().mls.groupLeaves(state))
      byAccount.set(l.account, [...(byAccount.get(l.account) ?? []), l.device]);
    return [...byAccount].map(([name, devices]) => ({ name, devices }));
  };

  const insert = db.prepare(
    `INSERT OR IGNORE INTO messages (id, peer, direction, sender, sender_device, text, sent_at, received_at, status)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const isBlocked = db.prepare('SELECT 1 FROM blocked WHERE name = ?').pluck();
  const getLine = statement<[string, string], MessageRow>(db, 'SELECT * FROM messages WHERE sender = ? AND id = ?');
  const setStatus = db.prepare('UPDATE messages SET status = ? WHERE sender = ? AND id = ?');

  const core: GroupCore = {
    deps,
    store,
    ready,
    mls: () => requireLoaded().mls,
    config: () => requireLoaded().config,
    me,
    myDevice: () => deps.profile().device,
    newId: () => toBase64Url(random(16)),
    requireLink: () => requireConnected(deps.link()),
    locked(fn) {
      const go = () => ready().then(fn);
      const run = lock.then(go, go);
      // The caller of `locked` gets the error through `run`; the lock itself only waits for it.
      lock = run.catch(() => {});
      return run;
    },
    quiet: () => lock,
    listedKey,
    row,
    load,
    save(groupId, state, status = 'active') {
      const { mls } = requireLoaded();
      const tree = { hash: state.groupContext.treeHash, encode: () => mls.encodeGroupTree(state) };
      store.save(groupId, mls.encodeGroupRecordWithoutTree(state), tree, mls.groupPosition(state).epoch, status);
      cache.set(groupId, state);
      for (const w of epochWaiters) w();
    },
    forget: (groupId) => cache.delete(groupId),
    waitForEpoch: (groupId, epoch) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const r = store.get(groupId);
          if (r === undefined || r.epoch >= epoch || r.status !== 'active') {
            clearTimeout(timer);
            epochWaiters.delete(check);
            resolve();
          }
        };
        const timer = setTimeout(() => {
          epochWaiters.delete(check);
          reject(new ClientError('TIMEOUT', 'the commit that moved the group on did not arrive'));
        }, REBASE_WAIT_MS);
        epochWaiters.add(check);
        check();
      }),
    membersWire,
    info(groupId) {
      const stored = row(groupId);
      const state = load(groupId);
      const { mls } = requireLoaded();
      const meta = mls.groupMetaOf(state);
      return {
        id: groupId,
        name: meta.name,
        admins: meta.admins,
        members: membersWire(state),
        epoch: mls.groupPosition(state).epoch,
        status: stored.status,
      };
    },
    insertLine(l) {
      // A blocked member's lines are not kept (the group's keys still advance with their commits).
      if (l.direction === 'in' && isBlocked.get(l.sender) !== undefined) return;
      insert.run(
        l.id,
        groupPeer(l.groupId),
        l.direction,
        l.sender,
        l.senderDevice,
        l.text,
        l.sentAt,
        l.receivedAt,
        l.status,
      );
    },
    setLineStatus: (id, status) => setStatus.run(status, me(), id),
    emitLine(sender, id) {
      const r = getLine.get(sender, id);
      if (r === undefined) return undefined;
      const message = storedMessageFromRow(r);
      events.emit({ type: 'message', message });
      return message;
    },
    systemLine(groupId, text) {
      const now = clock();
      const id = core.newId();
      insert.run(id, groupPeer(groupId), 'system', me(), 0, text, now, now, 'received');
      core.emitLine(me(), id);
    },
    transientFailure: () => transient,
    resetTransientFailure() {
      transient = false;
    },
  };
  return core;
}
