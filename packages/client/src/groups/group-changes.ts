/**
 * Changing a group (docs/protocol.md §14.5): plan a change on the current state, commit it,
 * submit it, and adopt the new state once the server accepted it. A change whose epoch was
 * taken by a concurrent commit (the server answers EPOCH_MOVED) waits for that commit to
 * arrive, then re-plans on the new state. Also the periodic self-update and the sync of this
 * account's own devices into every group.
 */
import { fromBase64Url, isProtocolError, type RelayOps, toBase64Url, type WireGroupMember } from '@parley/protocol';
import type { GroupChange, GroupState, KeyPackage } from '@parley/protocol/groups';
import { ClientError, isClientError, isRelayRefusal } from '../errors.ts';
import type { GroupCore } from './group-core.ts';

const MAX_REBASES = 5;
const SYNC_ATTEMPTS = 30;
const SYNC_RETRY_MS = 1000;
/**
 * How often a device replaces its own leaf keys in each group with an empty commit (an MLS
 * update path, RFC 9420 §12.4.2): post-compromise security for groups, and interior tree nodes
 * filled so that removals stay small.
 */
export const KEY_UPDATE_INTERVAL_MS = 7 * 24 * 3600 * 1000;

/** A planned change: the MLS change and who gets the Welcome. */
export interface Plan {
  readonly change: GroupChange;
  readonly welcomeTo: readonly WireGroupMember[];
}

/** Plans a change on a state; undefined when there is nothing to do. */
export type Planner = (state: GroupState) => Promise<Plan | undefined>;

/** The change operations. */
export interface GroupChanges {
  /** Plans and commits a change, rebasing on EPOCH_MOVED until it lands or has nothing to do. */
  change(groupId: string, plan: Planner): Promise<void>;
  /** Resubmits a commit of ours still waiting for the server's answer. Call under the lock. */
  settlePending(groupId: string): Promise<void>;
  requireAdmin(state: GroupState): void;
  planAdd(names: readonly string[]): Planner;
  /**
   * Fetches and checks every named account's KeyPackages before anything changes, failing on the
   * first name that is unknown or has none; the returned planner adds them with those packages.
   * Used by group creation, so that a bad member list creates no group at all.
   */
  prepareAdd(names: readonly string[]): Promise<Planner>;
  planRemove(names: readonly string[], asAdmin: boolean): Planner;
  planOwnDevices: Planner;
  /** Commits a self-update in the group if this device's leaf keys are older than the interval. */
  updateKeysIfDue(groupId: string): Promise<void>;
  /** Adds this account's newly listed devices to every group and removes unlisted ones. */
  syncOwnDevices(): Promise<void>;
  /** Settles once no own-device sync is running. */
  syncing(): Promise<void>;
  stop(): void;
}

/** Creates the change operations over the shared core. */
export function createGroupChanges(core: GroupCore): GroupChanges {
  const { store, deps, me } = core;

  /** Fetches and checks one KeyPackage per device of `name` (skipping our own device). */
  const fetchKeyPackages = async (name: string): Promise<{ packages: KeyPackage[]; devices: number[] }> => {
    let r: RelayOps['fetch-key-packages']['result'];
    try {
      r = await core.requireLink().request('fetch-key-packages', { name });
    } catch (err) {
      if (isRelayRefusal(err, 'UNKNOWN_ACCOUNT')) throw new ClientError('UNKNOWN_ACCOUNT', `no account named ${name}`);
      if (isRelayRefusal(err, 'NO_KEY_PACKAGES')) {
        throw new ClientError('NO_KEY_PACKAGES', `${name} has published no KeyPackages yet`);
      }
      throw err;
    }
    // KeyPackage answers carry no directory proof: the directory is asked for one (`kt-lookup`).
    if (name !== me()) await deps.directory.checkServed(name, r.accountKey, r.deviceList, 'lookup');
    else await deps.directory.refresh(name);
    // A list the account's own messages show to be stale (it may still name a removed device) is
    // not used to add devices to a group (docs/protocol.md §10, "Never go back").
    await deps.directory.requireTrusted(name);
    const entries = deps.directory.trustedDevices(name);
    const packages: KeyPackage[] = [];
    const devices: number[] = [];
    for (const { device, keyPackage } of r.keyPackages) {
      const signingKey = core.listedKey(entries, device);
      // A package for a device the signed list does not name is the server's invention: skipped.
      if (signingKey === undefined) continue;
      try {
        packages.push(
          await core
            .mls()
            .checkKeyPackage(fromBase64Url('keyPackage', keyPackage), { account: name, device, signingKey }),
        );
        devices.push(device);
      } catch (err) {
        if (!isProtocolError(err)) throw err;
      }
    }
    return { packages, devices };
  };

  /** Submits a commit request; adopts the new state on acceptance (also for a duplicate). */
  const submit = async (groupId: string, request: RelayOps['group-commit']['args'], record: Uint8Array) => {
    store.setPending({ groupId, messageId: request.messageId, request: JSON.stringify(request), record });
    try {
      await core.requireLink().request('group-commit', request);
    } catch (err) {
      if (isRelayRefusal(err, 'EPOCH_MOVED')) {
        store.clearPending(groupId);
        // Without the server's epoch there is nothing to rebase onto: the change fails.
        if (err.details === undefined) throw err;
        return { moved: err.details.epoch };
      }
      throw err;
    }
    const state = core.mls().decodeGroupRecord(record, core.config());
    store.transaction(() => {
      core.save(groupId, state);
      store.clearPending(groupId);
    });
    return { moved: undefined };
  };

  /**
   * Resolves a commit of ours still waiting for the server's answer (lost in a disconnect or a
   * crash) by resubmitting it under its message id, before anything else touches the group: if
   * the server took it, the group already moved on with it, and a later commit (ours or a
   * member's) only makes sense on top of it.
   */
  const settlePending = async (groupId: string): Promise<void> => {
    const p = store.pending().find((row) => row.groupId === groupId);
    if (p !== undefined) await submit(p.groupId, JSON.parse(p.request), p.record);
  };

  const change = async (groupId: string, plan: Planner): Promise<void> => {
    for (let attempt = 0; attempt <= MAX_REBASES; attempt++) {
      const outcome = await core.locked(async () => {
        if (core.row(groupId).status !== 'active') {
          throw new ClientError('INVALID_ARGUMENT', 'this device is no longer in the group');
        }
        await settlePending(groupId);
        const state = core.load(groupId);
        const planned = await plan(state);
        if (planned === undefined) return { moved: undefined };
        const mls = core.mls();
        const pending = await mls.commitGroupChange(state, planned.change);
        const request: RelayOps['group-commit']['args'] = {
          groupId,
          epoch: mls.groupPosition(state).epoch,
          messageId: core.newId(),
          commit: toBase64Url(pending.commit),
          members: core.membersWire(pending.state),
          ...(pending.welcome === undefined || planned.welcomeTo.length === 0
            ? {}
            : { welcome: toBase64Url(pending.welcome), welcomeTo: [...planned.welcomeTo] }),
        };
        return submit(groupId, request, mls.encodeGroupRecord(pending.state));
      });
      if (outcome.moved === undefined) return;
      await core.waitForEpoch(groupId, outcome.moved);
    }
    throw new ClientError('TIMEOUT', 'the group kept moving; try again');
  };

  const requireAdmin = (state: GroupState): void => {
    if (!core.mls().groupMetaOf(state).admins.includes(me())) {
      throw new ClientError('NOT_ALLOWED', 'only the group’s admins can change its members');
    }
  };

  const planAdd =
    (names: readonly string[]): Planner =>
    async (state) => {
      const present = new Set(
        core
          .mls()
          .groupLeaves(state)
          .map((l) => l.account),
      );
      const wanted = names.filter((n) => !present.has(n));
      if (wanted.length === 0) return undefined;
      if (wanted.some((n) => n !== me())) requireAdmin(state);
      return fetchAll(wanted);
    };

  /** Fetches usable KeyPackages for each of `names`, failing on the first that has none. */
  const fetchAll = async (names: readonly string[]): Promise<Plan> => {
    const add: KeyPackage[] = [];
    const welcomeTo: WireGroupMember[] = [];
    for (const name of names) {
      const fetched = await fetchKeyPackages(name);
      if (fetched.packages.length === 0) throw new ClientError('NO_KEY_PACKAGES', `${name} has no usable KeyPackages`);
      add.push(...fetched.packages);
      welcomeTo.push({ name, devices: fetched.devices });
    }
    return { change: { add }, welcomeTo };
  };

  const prepareAdd = async (names: readonly string[]): Promise<Planner> => {
    const unique = [...new Set(names)].filter((n) => n !== me());
    const plan = unique.length === 0 ? undefined : await fetchAll(unique);
    return async (state) => {
      if (plan === undefined) return undefined;
      requireAdmin(state);
      return plan;
    };
  };

  const planRemove =
    (names: readonly string[], asAdmin: boolean): Planner =>
    async (state) => {
      const leaves = core
        .mls()
        .groupLeaves(state)
        .filter((l) => names.includes(l.account) && l.account !== me());
      if (leaves.length === 0) return undefined;
      if (asAdmin) requireAdmin(state);
      return { change: { remove: leaves.map((l) => l.leaf) }, welcomeTo: [] };
    };

  // Set by planOwnDevices when a listed own device had no KeyPackage yet (it has not connected).
  let ownDeviceWithoutPackage = false;

  /** This account's own devices: add the listed ones the group lacks, remove the unlisted. */
  const planOwnDevices: Planner = async (state) => {
    const listed = deps.directory.trustedDevices(me()).map((e) => e.id);
    const mine = core
      .mls()
      .groupLeaves(state)
      .filter((l) => l.account === me());
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

  return {
    change,
    settlePending,
    requireAdmin,
    planAdd,
    prepareAdd,
    planRemove,
    planOwnDevices,
    async updateKeysIfDue(groupId) {
      const row = store.get(groupId);
      if (row === undefined || row.status !== 'active' || deps.clock() - row.keyUpdatedAt < KEY_UPDATE_INTERVAL_MS) {
        return;
      }
      await change(groupId, async () => ({ change: {}, welcomeTo: [] }));
      store.markKeyUpdated(groupId, deps.clock());
    },
    syncOwnDevices() {
      syncing = syncing
        .then(async () => {
          for (let attempt = 0; attempt < SYNC_ATTEMPTS && !stopped; attempt++) {
            if (await syncOnce()) return;
            await new Promise((r) => setTimeout(r, SYNC_RETRY_MS));
          }
        })
        .catch((err: unknown) => deps.events.warn('GROUP_DEVICE_SYNC_FAILED', err));
      return syncing;
    },
    syncing: () => syncing,
    stop() {
      stopped = true;
    },
  };
}
