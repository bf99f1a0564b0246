/**
 * The decisions of a group commit that do not depend on the database: who may commit on which
 * epoch, and who gets the commit and the welcome. Both adapters read the stored state inside
 * their transaction, call these, and write what they answer, so the rules live in one place.
 */
import type { DeviceAddress, GroupCommit, GroupCommitOutcome } from './storage.ts';

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

/** What an accepted commit writes, or the devices whose full queues refuse it. */
export type CommitPlan =
  | { readonly status: 'ok'; readonly members: readonly DeviceAddress[]; readonly deliveries: PlannedDelivery[] }
  | { readonly status: 'queue-full'; readonly devices: readonly DeviceAddress[] };

/**
 * Plans an accepted commit. `old` is the stored list; `exists` says whether a device is still
 * registered (rows naming removed devices are skipped); `depth` is a device's queue depth. The
 * new list is `commit.members` (existing devices only); the commit goes to old ∪ new except the
 * sender's device and the welcomed devices, the welcome to each welcomed device. A full queue on
 * the new list refuses the commit; one on a device being removed is skipped, so a dead device
 * can always be removed from a group.
 */
export function planCommit(
  commit: GroupCommit,
  old: readonly DeviceAddress[],
  exists: (a: DeviceAddress) => boolean,
  depth: (a: DeviceAddress) => number,
  maxPerDevice: number,
): CommitPlan {
  const members = unique(commit.members.filter(exists));
  const listed = new Set(members.map(addressKey));
  const welcomed = unique((commit.welcome?.to ?? []).filter((a) => exists(a) && listed.has(addressKey(a))));
  const welcomedKeys = new Set(welcomed.map(addressKey));
  const sender = addressKey({ account: commit.sender, device: commit.senderDevice });
  const commitTo = unique([...old.filter(exists), ...members]).filter(
    (a) => addressKey(a) !== sender && !welcomedKeys.has(addressKey(a)),
  );
  const full: DeviceAddress[] = [];
  const deliveries: PlannedDelivery[] = [];
  for (const a of commitTo) {
    const atCap = depth(a) >= maxPerDevice;
    if (atCap && listed.has(addressKey(a))) full.push(a);
    else if (!atCap) deliveries.push({ ...a, welcome: false });
  }
  for (const a of welcomed) {
    if (depth(a) >= maxPerDevice) full.push(a);
    else deliveries.push({ ...a, welcome: true });
  }
  if (full.length > 0) return { status: 'queue-full', devices: full };
  return { status: 'ok', members, deliveries };
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
