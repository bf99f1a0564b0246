/**
 * Group conversations over MLS (docs/protocol.md §14): create, add, remove, leave, send, and
 * the inbound side — Welcomes, commits and application messages, each checked by ts-mls and
 * by Parley's commit policy before anything is stored or acknowledged.
 *
 * Every state change of a group happens under one lock, so an inbound commit and an outbound
 * change never interleave. A change whose epoch was taken by a concurrent commit (the server
 * answers EPOCH_MOVED) waits for that commit to arrive, then re-plans on the new state.
 */
import {
  type ClientConfig,
  type CryptoProvider,
  checkKeyPackage,
  commitGroupChange,
  constantTimeEqual,
  createGroupState,
  type DeviceListEntry,
  decodeDeviceIdentityPublic,
  decodeGroupRecord,
  decodeKeyPackageMessage,
  decodePrivateKeys,
  type EpochMovedDetails,
  encodeGroupRecord,
  encodeGroupRecordWithoutTree,
  encodeGroupTree,
  fromBase64Url,
  type GroupChange,
  type GroupLeaf,
  type GroupState,
  groupClientConfig,
  groupCommitPolicy,
  groupLeaves,
  groupMetaOf,
  groupPosition,
  isProtocolError,
  isRemoved,
  joinFromWelcome,
  type KeyPackage,
  openGroupMessage,
  peekGroupMessage,
  type RandomSource,
  type RelayOps,
  readWelcome,
  type ServerFrame,
  sealGroupMessage,
  toBase64Url,
  type WireGroupMember,
} from '@parley/protocol';
import { decodeContent, encodeContent, MAX_TEXT_BYTES } from '../content.ts';
import { ClientError, isClientError, isRelayRefusal } from '../errors.ts';
import { type EventHub, storedMessageFromRow } from '../events.ts';
import type { HomeDatabase } from '../home/database.ts';
import type { Profile } from '../home/profile.ts';
import { type RelayLink, requireConnected } from '../relay/relay-link.ts';
import { createGroupStore, type GroupStore } from './group-store.ts';
import { createKeyPackageStock } from './key-package-stock.ts';

type Deliver = Extract<ServerFrame, { type: 'deliver' }>;

/** How long a rebase waits for the commit that moved the epoch to arrive. */
const REBASE_WAIT_MS = 15_000;
const MAX_REBASES = 5;
const SYNC_ATTEMPTS = 30;
/**
 * How often a device replaces its own leaf keys in each group with an empty commit (an MLS
 * update path, RFC 9420 §12.4.2): post-compromise security for groups, and interior tree nodes
 * filled so that removals stay small.
 */
export const KEY_UPDATE_INTERVAL_MS = 7 * 24 * 3600 * 1000;
const SYNC_RETRY_MS = 1000;

/** The conversation id of a group in the message history. */
export const groupPeer = (groupId: string): string => `group:${groupId}`;

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
  /** The device list trusted for an account (own or pinned contact). */
  trustedDevices(name: string): readonly DeviceListEntry[];
  /** Fetches and checks an account's current list (pins on first sight; throws on a key change). */
  refreshContact(name: string): Promise<void>;
  /** Checks a served account key and list the way `refreshContact` does. */
  checkServed(name: string, accountKey: string, deviceList: string): Promise<void>;
}

/** The group operations. */
export interface Groups {
  create(name: string, members: readonly string[]): Promise<{ id: string }>;
  add(groupId: string, names: readonly string[]): Promise<void>;
  remove(groupId: string, names: readonly string[]): Promise<void>;
  leave(groupId: string): Promise<void>;
  /** Renames the group and/or replaces its admins; admins only. */
  setMeta(groupId: string, meta: { name?: string; admins?: readonly string[] }): Promise<void>;
  send(groupId: string, text: string): Promise<{ id: string }>;
  info(groupId: string): GroupInfo;
  list(): GroupInfo[];
  /** Adds this account's newly listed devices to every group and removes unlisted ones. */
  syncOwnDevices(): Promise<void>;
  receive(f: Deliver): void;
  /** After (re)connecting: resubmit an unanswered commit, flush the outbox, top up KeyPackages. */
  onConnected(): Promise<void>;
  refillKeyPackages(): Promise<void>;
  idle(): Promise<void>;
  /** Ends background retries (the client is closing). */
  stop(): void;
}

/** A planned change: the MLS change and who gets the Welcome. */
interface Plan {
  readonly change: GroupChange;
  readonly welcomeTo: readonly WireGroupMember[];
}

/** Creates the group layer. */
export function createGroups(deps: GroupsDeps): Groups {
  const { db, random, clock, events } = deps;
  const store: GroupStore = createGroupStore(db);
  const me = () => deps.profile().name;
  const myDevice = () => deps.profile().device;
  const cache = new Map<string, GroupState>();
  const epochWaiters = new Set<() => void>();
  let lock: Promise<unknown> = Promise.resolve();
  let inbound: Promise<void> = Promise.resolve();
  // Set when a credential check could not reach the server: the delivery is retried, not dropped.
  let transientFailure = false;

  const newId = (): string => toBase64Url(random(16));

  const requireLink = (): RelayLink => requireConnected(deps.link());

  /** Serialises every group state change of this client. */
  const locked = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = lock.then(fn, fn);
    lock = run.catch(() => {});
    return run;
  };

  const listedKey = (entries: readonly DeviceListEntry[], device: number): Uint8Array | undefined => {
    const entry = entries.find((e) => e.id === device);
    return entry === undefined ? undefined : decodeDeviceIdentityPublic(entry.identity).signingKey;
  };

  /** ts-mls's credential check: the leaf key must be the device's key on the account's signed list. */
  const config: ClientConfig = groupClientConfig(async ({ account, device }, signingKey) => {
    let key = listedKey(deps.trustedDevices(account), device);
    if (key === undefined || !constantTimeEqual(key, signingKey)) {
      try {
        await deps.refreshContact(account);
      } catch (err) {
        if (!isClientError(err, 'UNKNOWN_ACCOUNT') && !isClientError(err, 'UNTRUSTED_IDENTITY')) {
          transientFailure = true;
        }
        return false;
      }
      key = listedKey(deps.trustedDevices(account), device);
    }
    return key !== undefined && constantTimeEqual(key, signingKey);
  }, deps.provider);

  const stock = createKeyPackageStock({ store, profile: deps.profile, clock, link: requireLink });

  const load = (groupId: string): GroupState => {
    const cached = cache.get(groupId);
    if (cached !== undefined) return cached;
    const row = store.get(groupId);
    if (row === undefined) throw new ClientError('UNKNOWN_GROUP', 'no such group on this device');
    const state = decodeGroupRecord(row.record, config, row.tree);
    cache.set(groupId, state);
    return state;
  };

  const save = (groupId: string, state: GroupState, status: 'active' | 'removed' | 'left' = 'active'): void => {
    const tree = { hash: state.groupContext.treeHash, encode: () => encodeGroupTree(state) };
    store.save(groupId, encodeGroupRecordWithoutTree(state), tree, groupPosition(state).epoch, status);
    cache.set(groupId, state);
    for (const w of epochWaiters) w();
  };

  const insertLine = db.prepare(
    `INSERT OR IGNORE INTO messages (id, peer, direction, sender, sender_device, text, sent_at, received_at, status)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const getLine = db.prepare('SELECT * FROM messages WHERE sender = ? AND id = ?');
  const setLineStatus = db.prepare('UPDATE messages SET status = ? WHERE sender = ? AND id = ?');

  const emitLine = (sender: string, id: string): void => {
    const r = getLine.get(sender, id) as Record<string, unknown> | undefined;
    if (r === undefined) return;
    events.emit({ type: 'message', message: storedMessageFromRow(r) });
  };

  const systemLine = (groupId: string, text: string): void => {
    const now = clock();
    const id = newId();
    insertLine.run(id, groupPeer(groupId), 'system', me(), 0, text, now, now, 'received');
    emitLine(me(), id);
  };

  /** The delivery list the server should hold for a state: every leaf, grouped by account. */
  const membersWire = (state: GroupState): WireGroupMember[] => {
    const byAccount = new Map<string, number[]>();
    for (const l of groupLeaves(state)) byAccount.set(l.account, [...(byAccount.get(l.account) ?? []), l.device]);
    return [...byAccount].map(([name, devices]) => ({ name, devices }));
  };

  const infoOf = (groupId: string): GroupInfo => {
    const row = store.get(groupId);
    if (row === undefined) throw new ClientError('UNKNOWN_GROUP', 'no such group on this device');
    const state = load(groupId);
    const meta = groupMetaOf(state);
    return {
      id: groupId,
      name: meta.name,
      admins: meta.admins,
      members: membersWire(state),
      epoch: groupPosition(state).epoch,
      status: row.status,
    };
  };

  /** Fetches and checks one KeyPackage per device of `name` (skipping our own device). */
  const fetchKeyPackages = async (name: string): Promise<{ packages: KeyPackage[]; devices: number[] }> => {
    let r: RelayOps['fetch-key-packages']['result'];
    try {
      r = await requireLink().request('fetch-key-packages', { name });
    } catch (err) {
      if (isRelayRefusal(err, 'UNKNOWN_ACCOUNT')) throw new ClientError('UNKNOWN_ACCOUNT', `no account named ${name}`);
      if (isRelayRefusal(err, 'NO_KEY_PACKAGES')) {
        throw new ClientError('NO_KEY_PACKAGES', `${name} has published no KeyPackages yet`);
      }
      throw err;
    }
    if (name !== me()) await deps.checkServed(name, r.accountKey, r.deviceList);
    else await deps.refreshContact(name);
    const entries = deps.trustedDevices(name);
    const packages: KeyPackage[] = [];
    const devices: number[] = [];
    for (const { device, keyPackage } of r.keyPackages) {
      const signingKey = listedKey(entries, device);
      // A package for a device the signed list does not name is the server's invention: skipped.
      if (signingKey === undefined) continue;
      try {
        packages.push(
          await checkKeyPackage(fromBase64Url('keyPackage', keyPackage), { account: name, device, signingKey }),
        );
        devices.push(device);
      } catch (err) {
        if (!isProtocolError(err)) throw err;
      }
    }
    return { packages, devices };
  };

  const waitForEpoch = (groupId: string, epoch: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const row = store.get(groupId);
        if (row === undefined || row.epoch >= epoch || row.status !== 'active') {
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
    });

  /** Submits a commit request; adopts the new state on acceptance (also for a duplicate). */
  const submit = async (groupId: string, request: RelayOps['group-commit']['args'], record: Uint8Array) => {
    store.setPending({ groupId, messageId: request.messageId, request: JSON.stringify(request), record });
    try {
      await requireLink().request('group-commit', request);
    } catch (err) {
      if (isRelayRefusal(err, 'EPOCH_MOVED')) {
        store.clearPending(groupId);
        return { moved: (err.details as EpochMovedDetails).epoch };
      }
      throw err;
    }
    const state = decodeGroupRecord(record, config);
    store.transaction(() => {
      save(groupId, state);
      store.clearPending(groupId);
    });
    return { moved: undefined };
  };

  /**
   * Resolves a commit of ours still waiting for the server's answer (lost in a disconnect or a
   * crash) by resubmitting it under its message id, before anything else touches the group: if
   * the server took it, the group already moved on with it, and a later commit (ours or a
   * member's) only makes sense on top of it. Call under the lock.
   */
  const settlePending = async (groupId: string): Promise<void> => {
    const p = store.pending().find((row) => row.groupId === groupId);
    if (p !== undefined) await submit(p.groupId, JSON.parse(p.request), p.record);
  };

  /** Plans and commits a change, rebasing on EPOCH_MOVED until it lands or has nothing to do. */
  const change = async (groupId: string, plan: (state: GroupState) => Promise<Plan | undefined>): Promise<void> => {
    for (let attempt = 0; attempt <= MAX_REBASES; attempt++) {
      const outcome = await locked(async () => {
        const row = store.get(groupId);
        if (row === undefined) throw new ClientError('UNKNOWN_GROUP', 'no such group on this device');
        if (row.status !== 'active') throw new ClientError('INVALID_ARGUMENT', 'this device is no longer in the group');
        await settlePending(groupId);
        const state = load(groupId);
        const planned = await plan(state);
        if (planned === undefined) return { moved: undefined };
        const pending = await commitGroupChange(state, planned.change);
        const request: RelayOps['group-commit']['args'] = {
          groupId,
          epoch: groupPosition(state).epoch,
          messageId: newId(),
          commit: toBase64Url(pending.commit),
          members: membersWire(pending.state),
          ...(pending.welcome === undefined || planned.welcomeTo.length === 0
            ? {}
            : { welcome: toBase64Url(pending.welcome), welcomeTo: [...planned.welcomeTo] }),
        };
        return submit(groupId, request, encodeGroupRecord(pending.state));
      });
      if (outcome.moved === undefined) return;
      await waitForEpoch(groupId, outcome.moved);
    }
    throw new ClientError('TIMEOUT', 'the group kept moving; try again');
  };

  const requireAdmin = (state: GroupState): void => {
    if (!groupMetaOf(state).admins.includes(me())) {
      throw new ClientError('NOT_ALLOWED', 'only the group’s admins can change its members');
    }
  };

  const planAdd =
    (names: readonly string[]) =>
    async (state: GroupState): Promise<Plan | undefined> => {
      const present = new Set(groupLeaves(state).map((l) => l.account));
      const wanted = names.filter((n) => !present.has(n));
      if (wanted.length === 0) return undefined;
      if (wanted.some((n) => n !== me())) requireAdmin(state);
      const add: KeyPackage[] = [];
      const welcomeTo: WireGroupMember[] = [];
      for (const name of wanted) {
        const fetched = await fetchKeyPackages(name);
        if (fetched.packages.length === 0)
          throw new ClientError('NO_KEY_PACKAGES', `${name} has no usable KeyPackages`);
        add.push(...fetched.packages);
        welcomeTo.push({ name, devices: fetched.devices });
      }
      return { change: { add }, welcomeTo };
    };

  const planRemove =
    (names: readonly string[], asAdmin: boolean) =>
    async (state: GroupState): Promise<Plan | undefined> => {
      const leaves = groupLeaves(state).filter((l) => names.includes(l.account) && l.account !== me());
      if (leaves.length === 0) return undefined;
      if (asAdmin) requireAdmin(state);
      return { change: { remove: leaves.map((l) => l.leaf) }, welcomeTo: [] };
    };

  // Set by planOwnDevices when a listed own device had no KeyPackage yet (it has not connected).
  let ownDeviceWithoutPackage = false;

  /** This account's own devices: add the listed ones the group lacks, remove the unlisted. */
  const planOwnDevices = async (state: GroupState): Promise<Plan | undefined> => {
    const listed = deps.trustedDevices(me()).map((e) => e.id);
    const mine = groupLeaves(state).filter((l) => l.account === me());
    const stale = mine.filter((l) => !listed.includes(l.device)).map((l) => l.leaf);
    const missing = listed.filter((id) => !mine.some((l) => l.device === id));
    let add: KeyPackage[] = [];
    let devices: number[] = [];
    if (missing.length > 0) {
      const fetched = await fetchKeyPackages(me());
      const keep = fetched.devices.map((d, i) => [d, i] as const).filter(([d]) => missing.includes(d));
      devices = keep.map(([d]) => d);
      add = keep.map(([, i]) => fetched.packages[i] as KeyPackage);
      if (devices.length < missing.length) ownDeviceWithoutPackage = true;
    }
    if (stale.length === 0 && add.length === 0) return undefined;
    return {
      change: { add, remove: stale },
      welcomeTo: devices.length === 0 ? [] : [{ name: me(), devices }],
    };
  };

  /** Sends queued group messages in order; each stays queued until the server accepted it. */
  let flushing: Promise<void> = Promise.resolve();
  const flushOutbox = (): Promise<void> => {
    flushing = flushing.then(async () => {
      for (const row of store.outbox()) {
        const l = deps.link();
        if (l === undefined || !l.isConnected()) return;
        try {
          await l.request('group-send', {
            groupId: row.groupId,
            messageId: row.messageId,
            body: toBase64Url(row.body),
          });
        } catch (err) {
          if (isClientError(err, 'SERVER_UNREACHABLE') || isClientError(err, 'TIMEOUT')) return;
          // Refused for good (no longer a member, group gone): the message is marked failed.
          setLineStatus.run('failed', me(), row.messageId);
          events.emit({ type: 'send-failed', id: row.messageId, to: groupPeer(row.groupId), reason: String(err) });
          store.dropOutbox(row.seq);
          continue;
        }
        store.dropOutbox(row.seq);
        setLineStatus.run('sent', me(), row.messageId);
        events.emit({ type: 'sent', id: row.messageId, to: groupPeer(row.groupId) });
      }
    });
    return flushing;
  };

  /** Seals content for the group and queues it durably (state and outbox in one transaction). */
  const sealAndQueue = (groupId: string, content: Parameters<typeof encodeContent>[0], line: string | undefined) =>
    locked(async () => {
      const row = store.get(groupId);
      if (row === undefined) throw new ClientError('UNKNOWN_GROUP', 'no such group on this device');
      if (row.status !== 'active') throw new ClientError('INVALID_ARGUMENT', 'this device is no longer in the group');
      const sealed = await sealGroupMessage(load(groupId), encodeContent(content));
      store.transaction(() => {
        save(groupId, sealed.state);
        store.queueOutbox(groupId, content.id, sealed.message);
        if (line !== undefined) {
          insertLine.run(content.id, groupPeer(groupId), 'out', me(), myDevice(), line, content.ts, null, 'pending');
        }
      });
      if (line !== undefined) emitLine(me(), content.id);
    });

  /** Commits a self-update in the group if this device's leaf keys are older than the interval. */
  const updateKeysIfDue = async (groupId: string): Promise<void> => {
    const row = store.get(groupId);
    if (row === undefined || row.status !== 'active' || clock() - row.keyUpdatedAt < KEY_UPDATE_INTERVAL_MS) return;
    await change(groupId, async () => ({ change: {}, welcomeTo: [] }));
    store.markKeyUpdated(groupId, clock());
  };

  /** One pass over every active group; false when a new own device had no KeyPackage yet. */
  const syncOnce = async (): Promise<boolean> => {
    ownDeviceWithoutPackage = false;
    for (const g of store.list()) {
      if (g.status !== 'active') continue;
      try {
        await change(g.id, planOwnDevices);
      } catch (err) {
        if (!isClientError(err, 'NO_KEY_PACKAGES')) throw err;
        ownDeviceWithoutPackage = true;
      }
    }
    return !ownDeviceWithoutPackage;
  };

  // A newly linked device publishes its KeyPackages only once it connects: retry until it has.
  let syncing: Promise<void> = Promise.resolve();
  let stopped = false;
  const syncOwnDevices = (): Promise<void> => {
    syncing = syncing
      .then(async () => {
        for (let attempt = 0; attempt < SYNC_ATTEMPTS && !stopped; attempt++) {
          if (await syncOnce()) return;
          await new Promise((r) => setTimeout(r, SYNC_RETRY_MS));
        }
      })
      .catch(() => {});
    return syncing;
  };

  // ---- inbound ----

  const reject = (f: Deliver, groupId: string | undefined, reason: string): void => {
    events.emit({ type: 'group-rejected', group: groupId, from: f.from, reason });
  };

  const onWelcome = async (f: Deliver): Promise<void> => {
    let read: ReturnType<typeof readWelcome>;
    try {
      read = readWelcome(fromBase64Url('body', f.body));
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      return reject(f, undefined, 'malformed welcome');
    }
    const ref = read.refs.find((r) => store.keyPackage(r) !== undefined);
    if (ref === undefined) return reject(f, undefined, 'welcome for a KeyPackage this device does not hold');
    const kp = store.keyPackage(ref);
    if (kp === undefined) return;
    let state: GroupState;
    try {
      state = await joinFromWelcome(
        read.welcome,
        decodeKeyPackageMessage(kp.publicBytes),
        decodePrivateKeys(kp.privateBytes, deps.profile().identity.signingPrivateKey),
        config,
      );
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      if (transientFailure) throw new ClientError('SERVER_UNREACHABLE', 'could not check the group members');
      return reject(f, undefined, `welcome refused: ${err.message}`);
    }
    const { groupId } = groupPosition(state);
    if (store.get(groupId)?.status === 'active') return;
    const meta = groupMetaOf(state);
    store.transaction(() => {
      save(groupId, state);
      store.markKeyUpdated(groupId, clock());
      store.dropKeyPackage(ref);
    });
    systemLine(groupId, `you were added to “${meta.name}”`);
    events.emit({ type: 'group-joined', group: groupId, name: meta.name });
    void stock.refill().catch(() => {});
  };

  const describe = (leaves: GroupLeaf[]) => [...new Set(leaves.map((l) => l.account))];

  const onGroupMessage = async (f: Deliver): Promise<void> => {
    const body = fromBase64Url('body', f.body);
    const position = peekGroupMessage(body);
    const row = position === undefined ? undefined : store.get(position.groupId);
    if (position === undefined || row === undefined)
      return reject(f, position?.groupId, 'message for an unknown group');
    if (row.status !== 'active') return;
    const groupId = position.groupId;
    await settlePending(groupId);
    let opened: Awaited<ReturnType<typeof openGroupMessage>>;
    try {
      opened = await openGroupMessage(load(groupId), body, groupCommitPolicy(new Set(row.departed)));
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      if (transientFailure) throw new ClientError('SERVER_UNREACHABLE', 'could not check the group members');
      return reject(f, groupId, err.message);
    }
    if (opened.kind === 'application') {
      const content = decodeContent(opened.data);
      const sender = opened.sender;
      store.transaction(() => {
        save(groupId, opened.state);
        if (content === undefined) return;
        if (content.ctl === 'leave') store.addDeparted(groupId, sender.account);
        else {
          const direction = sender.account === me() ? 'out' : 'in';
          const status = direction === 'out' ? 'sent' : 'received';
          insertLine.run(
            content.id,
            groupPeer(groupId),
            direction,
            sender.account,
            sender.device,
            content.text,
            content.ts,
            clock(),
            status,
          );
        }
      });
      if (content?.ctl === 'leave') {
        systemLine(groupId, `${sender.account} left`);
        // Any member may commit the removal of an account that announced leaving (§14.4).
        void change(groupId, planRemove([sender.account], false)).catch(() => {});
      } else if (content !== undefined) emitLine(sender.account, content.id);
      return;
    }
    const before = groupLeaves(opened.previous);
    const after = isRemoved(opened.state) ? [] : groupLeaves(opened.state);
    const added = describe(after.filter((l) => !before.some((b) => b.leaf === l.leaf && b.account === l.account)));
    const removed = describe(before.filter((b) => !after.some((l) => l.leaf === b.leaf && l.account === b.account)));
    const by = opened.committer.account;
    if (isRemoved(opened.state)) {
      save(groupId, opened.state, 'removed');
      systemLine(groupId, `${by} removed you`);
      events.emit({ type: 'group-removed', group: groupId, by });
      return;
    }
    save(groupId, opened.state);
    for (const a of added) if (a !== by) systemLine(groupId, `${by} added ${a}`);
    for (const a of removed) if (a !== by) systemLine(groupId, `${by} removed ${a}`);
    events.emit({
      type: 'group-updated',
      group: groupId,
      epoch: groupPosition(opened.state).epoch,
      by,
      added,
      removed,
    });
  };

  const receive = (f: Deliver): void => {
    inbound = inbound.then(() =>
      locked(async () => {
        transientFailure = false;
        if (f.kind === 'welcome') await onWelcome(f);
        else await onGroupMessage(f);
      }).then(
        () => deps.link()?.ack(f.seq),
        () => {
          // Not acknowledged: delivered again on the next connection.
        },
      ),
    );
  };

  return {
    async create(name, members) {
      const groupId = random(16);
      const id = toBase64Url(groupId);
      const state = await createGroupState({
        groupId,
        identity: deps.profile().identity,
        account: me(),
        device: myDevice(),
        meta: { name, admins: [me()] },
        config,
      });
      await requireLink().request('group-create', { groupId: id });
      save(id, state);
      store.markKeyUpdated(id, clock());
      systemLine(id, `you created “${name}”`);
      const others = deps.trustedDevices(me()).some((e) => e.id !== myDevice());
      if (others) await change(id, planOwnDevices);
      const invited = members.filter((m) => m !== me());
      if (invited.length > 0) await change(id, planAdd(invited));
      return { id };
    },
    add: (groupId, names) => change(groupId, planAdd(names)),
    setMeta: (groupId, meta) =>
      change(groupId, async (state) => {
        requireAdmin(state);
        const current = groupMetaOf(state);
        const next = { name: meta.name ?? current.name, admins: [...(meta.admins ?? current.admins)] };
        if (next.name === current.name && next.admins.join() === current.admins.join()) return undefined;
        return { change: { meta: next }, welcomeTo: [] };
      }),
    remove: (groupId, names) => change(groupId, planRemove(names, true)),
    async leave(groupId) {
      await sealAndQueue(groupId, { v: 1, id: newId(), ts: clock(), text: '', ctl: 'leave' }, undefined);
      await flushOutbox();
      store.setStatus(groupId, 'left');
      cache.delete(groupId);
      systemLine(groupId, 'you left the group');
    },
    async send(groupId, text) {
      if (new TextEncoder().encode(text).length > MAX_TEXT_BYTES) {
        throw new ClientError('INVALID_ARGUMENT', `messages are at most ${MAX_TEXT_BYTES} bytes`);
      }
      const id = newId();
      // Offline, the update waits for the next connection; the message is queued either way.
      await updateKeysIfDue(groupId).catch(() => {});
      await sealAndQueue(groupId, { v: 1, id, ts: clock(), text }, text);
      void flushOutbox();
      return { id };
    },
    info: infoOf,
    list: () => store.list().map((g) => infoOf(g.id)),
    syncOwnDevices,
    receive,
    async onConnected() {
      for (const p of store.pending()) await locked(() => settlePending(p.groupId)).catch(() => {});
      await flushOutbox();
      await stock.refill();
      for (const g of store.list()) await updateKeysIfDue(g.id).catch(() => {});
      void syncOwnDevices();
    },
    refillKeyPackages: () => stock.refill(),
    stop() {
      stopped = true;
    },
    async idle() {
      await inbound;
      await lock;
      await flushing;
      await syncing;
    },
  };
}
