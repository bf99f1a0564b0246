/**
 * The decisions of a group commit that do not depend on the database: who may commit on which
 * epoch, and who gets the commit and the welcome. Both adapters read the stored state inside
 * their transaction, call these, and write what they answer, so the rules live in one place.
 */
import { overallReason } from './queue-caps.ts';
import type { DeviceAddress, GroupCommit, GroupCommitOutcome, QueueFullReason } from './storage.ts';

/** A map key for one device of one account. */
export function addressKey(a: DeviceAddress): string {
  return `${a.account}\u0000${a.device}`;
}

/**
 * The refusal for a commit on a group whose stored state is `stored`, or undefined when the
 * commit may go ahead: the sender's device must be listed (`not-a-member`) and the stored epoch
 * must be the one the commit was built on (`epoch-moved`, "first commit on an epoch wins").
 */
export function refuseCommit(
  stored: { readonly epoch: number; readonly members: readonly DeviceAddress[] },
  commit: GroupCommit,
): GroupCommitOutcome | undefined {
  const sender = addressKey({ account: commit.sender, device: commit.senderDevice });
  if (!stored.members.some((m) => addressKey(m) === sender)) return { status: 'not-a-member' };
  if (stored.epoch !== commit.epoch) return { status: 'epoch-moved', epoch: stored.epoch };
  return undefined;
}

/** One message of a commit to queue. */
export interface PlannedDelivery extends DeviceAddress {
  readonly welcome: boolean;
}

/** What an accepted commit writes, or the devices that refuse it. */
export type CommitPlan =
  | {
      readonly status: 'ok';
      readonly members: readonly DeviceAddress[];
      /** Devices on the new list that were not on the old one (their grants are used up). */
      readonly added: readonly DeviceAddress[];
      readonly deliveries: PlannedDelivery[];
    }
  | { readonly status: 'not-invited'; readonly devices: readonly DeviceAddress[] }
  | { readonly status: 'queue-full'; readonly devices: readonly DeviceAddress[]; readonly reason: QueueFullReason };

/** What `planCommit` asks of the stored state. */
export interface CommitState {
  /** The stored list. */
  readonly old: readonly DeviceAddress[];
  /** Whether a device is still registered (rows naming removed devices are skipped). */
  exists(a: DeviceAddress): boolean;
  /** Whether a KeyPackage of the device was handed to the committing device (an unexpired grant). */
  invited(a: DeviceAddress): boolean;
  /**
   * Why one more message of `bytes` from the committer would not fit the device's queue (its
   * whole queue, or the committer's share of it); undefined when it fits.
   */
  atCap(a: DeviceAddress, bytes: number): QueueFullReason | undefined;
}

/**
 * Plans an accepted commit. The new list is `commit.members` (existing devices only); a device
 * not on the old list must be invited (docs/protocol.md §14, "who may be listed"), else the
 * commit is refused `not-invited`: a commit cannot make the server queue for devices whose
 * owner never published a package to this committer. The commit goes to old ∪ new except the
 * sender's device and the welcomed devices, the welcome to each welcomed device. A full queue on
 * the new list refuses the commit; one on a device being removed is skipped, so a dead device
 * can always be removed from a group.
 */
export function planCommit(commit: GroupCommit, state: CommitState): CommitPlan {
  const { old, exists } = state;
  const members = unique(commit.members.filter(exists));
  const before = new Set(old.map(addressKey));
  const added = members.filter((a) => !before.has(addressKey(a)));
  const uninvited = added.filter((a) => !state.invited(a));
  if (uninvited.length > 0) return { status: 'not-invited', devices: uninvited };
  const listed = new Set(members.map(addressKey));
  const welcomed = unique((commit.welcome?.to ?? []).filter((a) => exists(a) && listed.has(addressKey(a))));
  const welcomedKeys = new Set(welcomed.map(addressKey));
  const sender = addressKey({ account: commit.sender, device: commit.senderDevice });
  const commitTo = unique([...old.filter(exists), ...members]).filter(
    (a) => addressKey(a) !== sender && !welcomedKeys.has(addressKey(a)),
  );
  const full: DeviceAddress[] = [];
  const reasons: QueueFullReason[] = [];
  const deliveries: PlannedDelivery[] = [];
  for (const a of commitTo) {
    const atCap = state.atCap(a, commit.commit.body.byteLength);
    if (atCap !== undefined && listed.has(addressKey(a))) {
      full.push(a);
      reasons.push(atCap);
    } else if (atCap === undefined) deliveries.push({ ...a, welcome: false });
  }
  for (const a of welcomed) {
    const atCap = state.atCap(a, commit.welcome?.body.byteLength ?? 0);
    if (atCap !== undefined) {
      full.push(a);
      reasons.push(atCap);
    } else deliveries.push({ ...a, welcome: true });
  }
  if (full.length > 0) return { status: 'queue-full', devices: full, reason: overallReason(reasons) };
  return { status: 'ok', members, added, deliveries };
}

function unique(list: readonly DeviceAddress[]): DeviceAddress[] {
  const seen = new Set<string>();
  const out: DeviceAddress[] = [];
  for (const a of list) {
    const k = addressKey(a);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push({ account: a.account, device: a.device });
  }
  return out;
}
