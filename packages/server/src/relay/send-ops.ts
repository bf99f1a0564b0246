/**
 * The one-to-one `send` op (docs/protocol.md §11): Sesame-style fan-out, one ciphertext per
 * device, checked against the recipient's current device set before it is queued.
 */
import {
  type DeliveryKind,
  MAX_DEVICES,
  type QueueFullDetails,
  type RelayOps,
  type StaleDevicesDetails,
} from '@parley/protocol';
import { ServerError } from '../errors.ts';
import type { Args } from './args.ts';
import { Deferred, KIND_CODES, type OpContext, rateLimit, readMessageId, requireAuth } from './context.ts';

/** The longest `expiresIn` a send may ask for: the longest disappearing-message timer, 4 weeks. */
const MAX_EXPIRES_IN_S = 28 * 24 * 60 * 60;

/** The kinds a 1:1 `send` may carry (group kinds travel only through the group ops). */
const ONE_TO_ONE_KINDS: readonly DeliveryKind[] = ['initial', 'ratchet', 'retry'];

/**
 * `send`: one ciphertext per device of the recipient (and of the sender's other devices when the
 * recipient is the sender's own account), queued through the hub's batch and answered once
 * durable. STALE_DEVICES unless it addresses exactly the current devices (or, with `resend`, some
 * of them) with their current identities.
 */
export async function send(a: Args, ctx: OpContext): Promise<Deferred<RelayOps['send']['result']>> {
  const me = requireAuth(ctx);
  rateLimit(ctx.accountLimits.sends, me.account, ctx.clock(), 'sends');
  const recipient = a.accountName('name');
  const messageId = readMessageId(a);
  const resend = a.optionalBoolean('resend') ?? false;
  // A disappearing message's lifetime: copies still queued then are dropped (docs/protocol.md §21.4).
  const expiresIn = a.optionalU32('expiresIn');
  if (expiresIn !== undefined && (expiresIn < 1 || expiresIn > MAX_EXPIRES_IN_S))
    throw new ServerError('BAD_FRAME', `expected expiresIn from 1 to ${MAX_EXPIRES_IN_S} seconds`);
  const messages = a.objects('messages', MAX_DEVICES).map((m) => {
    const kind = m.string('kind', ctx.limits.maxShortStringLength);
    const code = ONE_TO_ONE_KINDS.includes(kind as DeliveryKind) ? KIND_CODES[kind as DeliveryKind] : undefined;
    if (code === undefined) throw new ServerError('BAD_FRAME', 'expected kind "initial", "ratchet" or "retry"');
    const device = m.u32('device');
    const body = m.bytesAndText('body', ctx.limits.maxMessageBytes);
    return {
      account: recipient,
      device,
      kind: code,
      body: body.bytes,
      bodyText: body.text,
      keyId: m.optionalString('keyId', ctx.limits.maxShortStringLength),
    };
  });
  if (messages.length === 0) throw new ServerError('BAD_FRAME', 'expected at least one message');
  if (messages.length > 1 && new Set(messages.map((m) => m.device)).size !== messages.length)
    throw new ServerError('BAD_FRAME', 'one message per device');
  const set = await ctx.storage.deviceSet(recipient);
  if (set.length === 0) throw new ServerError('UNKNOWN_ACCOUNT', 'no such account');
  const self = recipient === me.account ? me.device : undefined;
  if (!addressesCurrentDevices(messages, set, self, resend)) throw staleDevices(messages, set, self, resend);
  const expiry = expiresIn === undefined ? {} : { expiresAt: ctx.clock() + expiresIn * 1000 };
  const later = ctx.hub
    .send({ sender: me.account, senderDevice: me.device, messageId, messages, ...expiry })
    .then((outcome) => {
      if (outcome.status === 'queue-full') {
        const message =
          outcome.reason === 'queue'
            ? 'a recipient device’s queue is full'
            : 'this account holds its full share of a recipient device’s queue';
        throw new ServerError('QUEUE_FULL', message, {
          devices: outcome.devices.map((d) => d.device),
          reason: outcome.reason,
        } satisfies QueueFullDetails);
      }
      return { serverTime: ctx.clock(), duplicate: outcome.status === 'duplicate' };
    });
  return new Deferred(later);
}

/** A recipient's device set as `deviceSet` gives it. */
type DeviceSet = Awaited<ReturnType<OpContext['storage']['deviceSet']>>;

/**
 * Whether `messages` (one per device, checked) address devices of `set` other than the sender's
 * own (`self`), each with its current key id when one is given, and (unless `resend`) all of
 * them. The common answer, yes, is found without building the lists `staleDevices` reports.
 */
function addressesCurrentDevices(
  messages: readonly { device: number; keyId: string | undefined }[],
  set: DeviceSet,
  self: number | undefined,
  resend: boolean,
): boolean {
  let others = 0;
  for (const d of set) if (d.id !== self) others++;
  if (!resend && messages.length !== others) return false;
  for (const m of messages) {
    const d = m.device === self ? undefined : set.find((x) => x.id === m.device);
    if (d === undefined || (m.keyId !== undefined && d.keyId !== m.keyId)) return false;
  }
  return true;
}

/** The `STALE_DEVICES` refusal: the current devices, and which are missing, extra or changed. */
function staleDevices(
  messages: readonly { device: number; keyId: string | undefined }[],
  set: DeviceSet,
  self: number | undefined,
  resend: boolean,
): ServerError {
  const others = set.filter((d) => d.id !== self);
  const current = others.map((d) => d.id);
  const addressed = messages.map((m) => m.device);
  const extra = addressed.filter((id) => !current.includes(id));
  const missing = resend ? [] : current.filter((id) => !addressed.includes(id));
  // A device id whose identity is no longer the one the sender encrypted for (a reinstall).
  const changed = messages
    .filter((m) => m.keyId !== undefined && others.some((d) => d.id === m.device && d.keyId !== m.keyId))
    .map((m) => m.device);
  return new ServerError('STALE_DEVICES', 'the message is not addressed to the recipient’s current devices', {
    devices: current,
    missing,
    extra,
    changed,
  } satisfies StaleDevicesDetails);
}
