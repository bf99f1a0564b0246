/**
 * The group delivery ops (docs/protocol.md §14). The server keeps, per group, only an id, an
 * epoch counter and a device-level delivery list; it never parses MLS content. It enforces one
 * rule MLS needs from a delivery service (RFC 9420 §14): commits on one epoch are ordered, and
 * only the first is accepted — the others get EPOCH_MOVED and rebuild on the new epoch.
 *
 * Errors for a bad delivery list: an account that does not exist is UNKNOWN_ACCOUNT (details
 * `{ name }`); a device id the account does not have is STALE_DEVICES (details `{ name,
 * devices, missing: [], extra }`, `devices` being the account's current ids); an account named
 * twice, a member without devices, `welcomeTo` naming a device not in `members`, or a welcome
 * without `welcomeTo` (or the reverse) is BAD_FRAME. A full queue is QUEUE_FULL with details
 * `{ members: [{ name, devices }] }`. A device joining the list whose KeyPackage was not handed to
 * the committing device (fetch-key-packages) is NOT_INVITED with the same details: without that
 * rule one commit could make the server queue for any accounts’ devices (§14.3).
 */
import {
  type EpochMovedDetails,
  GROUP_ID_LENGTH,
  MAX_DEVICES,
  type NotInvitedDetails,
  type QueueFullDetails,
  type QueueFullReason,
  type RelayOps,
  type StaleDevicesDetails,
  toBase64Url,
  type UnknownAccountDetails,
} from '@parley/protocol';
import { ServerError } from '../errors.ts';
import { addressKey } from '../store/group-commit-plan.ts';
import type { DeviceAddress, GroupCommitOutcome, GroupRecord } from '../store/storage.ts';
import type { Args } from './args.ts';
import { Deferred, KIND_CODES, type OpContext, rateLimit, readMessageId, requireAuth } from './context.ts';

/** `group-create`: a delivery record at epoch 0 listing only the calling device. */
export async function groupCreate(a: Args, ctx: OpContext): Promise<RelayOps['group-create']['result']> {
  const me = requireAuth(ctx);
  rateLimit(ctx.accountLimits.sends, me.account, ctx.clock(), 'sends');
  const groupId = readGroupId(a);
  const outcome = await ctx.storage.createGroup(groupId, { account: me.account, device: me.device });
  if (outcome === 'exists') throw new ServerError('GROUP_EXISTS', 'that group id is taken');
  return { epoch: 0 };
}

/**
 * `group-commit`: checks the arguments and that every listed device exists, then hands the
 * commit to the hub, which applies it in one transaction in arrival order with the sends around
 * it. Answered once durable.
 */
export async function groupCommit(a: Args, ctx: OpContext): Promise<Deferred<RelayOps['group-commit']['result']>> {
  const me = requireAuth(ctx);
  rateLimit(ctx.accountLimits.sends, me.account, ctx.clock(), 'sends');
  const groupId = readGroupId(a);
  const epoch = a.u32('epoch');
  const messageId = readMessageId(a);
  const commit = a.bytes('commit', undefined, ctx.limits.maxGroupHandshakeBytes);
  const members = readDeviceList(a, 'members', ctx.limits.maxGroupDevices);
  if (members.length === 0) throw new ServerError('BAD_FRAME', 'expected args.members to list at least one device');
  const welcomeTo = readDeviceList(a, 'welcomeTo', ctx.limits.maxGroupDevices);
  const welcome = a.optionalBytes('welcome', ctx.limits.maxGroupHandshakeBytes);
  if ((welcome !== undefined) !== welcomeTo.length > 0) {
    throw new ServerError('BAD_FRAME', 'expected args.welcome exactly when args.welcomeTo lists devices');
  }
  const listed = new Set(members.map(addressKey));
  if (!welcomeTo.every((d) => listed.has(addressKey(d)))) {
    throw new ServerError('BAD_FRAME', 'expected args.welcomeTo to name only devices in args.members');
  }
  await requireExistingDevices(ctx, members);
  const later = ctx.hub
    .commit({
      groupId,
      epoch,
      sender: me.account,
      senderDevice: me.device,
      messageId,
      members,
      commit: { kind: KIND_CODES.group, body: commit },
      ...(welcome === undefined ? {} : { welcome: { kind: KIND_CODES.welcome, body: welcome, to: welcomeTo } }),
    })
    .then((outcome) => commitResult(outcome, epoch, ctx.clock()));
  return new Deferred(later);
}

function commitResult(
  outcome: GroupCommitOutcome,
  builtOn: number,
  serverTime: number,
): RelayOps['group-commit']['result'] {
  switch (outcome.status) {
    case 'committed':
      return { epoch: outcome.epoch, serverTime, duplicate: false };
    case 'duplicate':
      // The first copy was accepted on `builtOn`, so it moved the group to the next epoch.
      return { epoch: builtOn + 1, serverTime, duplicate: true };
    case 'unknown-group':
      throw unknownGroup();
    case 'not-a-member':
      throw notAMember();
    case 'not-invited':
      throw new ServerError(
        'NOT_INVITED',
        'a device joining the delivery list has no KeyPackage handed to this device for it',
        { members: byAccount(outcome.devices) } satisfies NotInvitedDetails,
      );
    case 'epoch-moved':
      throw new ServerError('EPOCH_MOVED', 'another commit was accepted on that epoch first', {
        epoch: outcome.epoch,
      } satisfies EpochMovedDetails);
    case 'queue-full':
      throw queueFull(outcome.devices, outcome.reason);
  }
}

/** `group-send`: one MLS message for every listed device except the caller's, batched like `send`. */
export async function groupSend(a: Args, ctx: OpContext): Promise<Deferred<RelayOps['group-send']['result']>> {
  const me = requireAuth(ctx);
  rateLimit(ctx.accountLimits.sends, me.account, ctx.clock(), 'sends');
  const groupId = readGroupId(a);
  const messageId = readMessageId(a);
  const { bytes: body, text: bodyText } = a.bytesAndText('body', ctx.limits.maxMessageBytes);
  const group = await memberGroup(ctx, groupId, me);
  const messages = group.members
    .filter((m) => !(m.account === me.account && m.device === me.device))
    .map((m) => ({ account: m.account, device: m.device, kind: KIND_CODES.group, body, bodyText }));
  const item = { sender: me.account, senderDevice: me.device, messageId, messages, sharedBody: true };
  const later = ctx.hub.send(item).then((outcome) => {
    if (outcome.status === 'queue-full') throw queueFull(outcome.devices, outcome.reason);
    return { serverTime: ctx.clock(), duplicate: outcome.status === 'duplicate' };
  });
  return new Deferred(later);
}

/** `group-info`: the epoch and delivery list as stored (listed devices only). */
export async function groupInfo(a: Args, ctx: OpContext): Promise<RelayOps['group-info']['result']> {
  const me = requireAuth(ctx);
  const group = await memberGroup(ctx, readGroupId(a), me);
  return { epoch: group.epoch, members: byAccount(group.members) };
}

/** Reads `args.groupId`: 16 bytes, in the canonical base64url the store keys groups by. */
function readGroupId(a: Args): string {
  return toBase64Url(a.bytes('groupId', GROUP_ID_LENGTH));
}

/** The group, if the calling device is on its list (else UNKNOWN_GROUP or NOT_A_MEMBER). */
async function memberGroup(ctx: OpContext, groupId: string, me: DeviceAddress): Promise<GroupRecord> {
  const group = await ctx.storage.getGroup(groupId);
  if (group === undefined) throw unknownGroup();
  if (!group.members.some((m) => m.account === me.account && m.device === me.device)) throw notAMember();
  return group;
}

/** Reads a `WireGroupMember[]` field as device addresses: each account once, each with 1–16 distinct devices. */
function readDeviceList(a: Args, field: string, maxDevices: number): DeviceAddress[] {
  const out: DeviceAddress[] = [];
  const names = new Set<string>();
  for (const entry of a.objects(field, maxDevices)) {
    const name = entry.accountName('name');
    if (names.has(name)) throw new ServerError('BAD_FRAME', `expected each account once in args.${field}`);
    names.add(name);
    const devices = entry.optionalU32List('devices', MAX_DEVICES);
    if (devices === undefined || devices.length === 0 || new Set(devices).size !== devices.length) {
      throw new ServerError('BAD_FRAME', `expected args.${field}[].devices as 1-${MAX_DEVICES} distinct device ids`);
    }
    for (const device of devices) out.push({ account: name, device });
  }
  if (out.length > maxDevices) throw new ServerError('BAD_FRAME', `expected at most ${maxDevices} devices in a group`);
  return out;
}

/** UNKNOWN_ACCOUNT or STALE_DEVICES unless every listed device is registered now. */
async function requireExistingDevices(ctx: OpContext, list: readonly DeviceAddress[]): Promise<void> {
  const wanted = byAccount(list);
  const sets = await Promise.all(wanted.map((m) => ctx.storage.deviceSet(m.name)));
  wanted.forEach((m, i) => {
    const current = (sets[i] ?? []).map((d) => d.id);
    if (current.length === 0)
      throw new ServerError('UNKNOWN_ACCOUNT', 'a listed account does not exist', {
        name: m.name,
      } satisfies UnknownAccountDetails);
    const extra = m.devices.filter((id) => !current.includes(id));
    if (extra.length > 0) {
      throw new ServerError('STALE_DEVICES', 'a listed device does not exist', {
        name: m.name,
        devices: current,
        missing: [],
        extra,
      } satisfies StaleDevicesDetails);
    }
  });
}

/** Device addresses grouped by account, in first-seen order. */
function byAccount(list: readonly DeviceAddress[]): { name: string; devices: number[] }[] {
  const out = new Map<string, number[]>();
  for (const d of list) {
    const devices = out.get(d.account) ?? [];
    devices.push(d.device);
    out.set(d.account, devices);
  }
  return [...out].map(([name, devices]) => ({ name, devices }));
}

function unknownGroup(): ServerError {
  return new ServerError('UNKNOWN_GROUP', 'no such group');
}

function notAMember(): ServerError {
  return new ServerError('NOT_A_MEMBER', 'this device is not on the group’s delivery list');
}

function queueFull(devices: readonly DeviceAddress[], reason: QueueFullReason): ServerError {
  const message =
    reason === 'queue'
      ? 'a member device’s queue is full'
      : 'this account holds its full share of a member device’s queue';
  return new ServerError('QUEUE_FULL', message, {
    members: byAccount(devices),
    reason,
  } satisfies QueueFullDetails);
}
