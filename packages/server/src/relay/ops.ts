/**
 * The relay's operations (docs/protocol.md §11). Each takes the checked `args` of one request
 * and the connection's context and returns the `result`; refusals are `ServerError`s. The
 * server checks every signature it can (device identity binding, device list, prekeys,
 * challenge answers) so that it stores only keys their owner vouched for; clients check them
 * again, since the server is not trusted.
 */
import { createHash } from 'node:crypto';
import {
  authSignedBytes,
  constantTimeEqual,
  DEVICE_IDENTITY_PUBLIC_LENGTH,
  type DeliveryKind,
  decodeDeviceIdentityPublic,
  decodeSignedDeviceList,
  encodePreKeyBundle,
  MAX_DEVICES,
  MLKEM_PUBLIC_KEY_LENGTH,
  type QueueFullDetails,
  type RelayOp,
  type StaleDevicesDetails,
  toBase64Url,
  verifyDeviceIdentityPublic,
  verifyDeviceList,
  verifyKemPreKey,
  verifySignedPreKey,
} from '@parley/protocol';
import { ServerError } from '../errors.ts';
import type { SignedKeyRow } from '../store/storage.ts';
import {
  callerIdentity,
  Deferred,
  KIND_CODES,
  type OpContext,
  rateLimit,
  readAccount,
  readMessageId,
  requireAuth,
} from './context.ts';
import { groupCommit, groupCreate, groupInfo, groupSend } from './group-ops.ts';
import { fetchKeyPackages, uploadKeyPackages } from './key-package-ops.ts';
import { type Args, readArgs } from './validate.ts';

/** The kinds a 1:1 `send` may carry (group kinds travel only through the group ops). */
const ONE_TO_ONE_KINDS: readonly DeliveryKind[] = ['initial', 'ratchet', 'retry'];

/** SHA-256 of an invite code: the database keeps only hashes. */
export function inviteHash(code: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(code, 'utf8').digest());
}

async function register(a: Args, ctx: OpContext) {
  if (ctx.conn.auth !== undefined) throw new ServerError('ALREADY_AUTHENTICATED', 'this connection is authenticated');
  const name = a.accountName('name');
  const accountKey = a.bytes('accountKey', 32);
  const identityBytes = a.bytes('identity', DEVICE_IDENTITY_PUBLIC_LENGTH);
  const listBytes = a.bytes('deviceList', undefined, 4096);
  const invite = a.optionalString('invite', 128);
  const signature = a.bytes('signature', 64);
  if (ctx.inviteOnly && invite === undefined)
    throw new ServerError('INVITE_REQUIRED', 'this server registers by invite only');

  const identity = decodeDeviceIdentityPublic(identityBytes);
  if (!(await verifyDeviceIdentityPublic(ctx.provider, identity))) {
    throw new ServerError('INVALID_SIGNATURE', 'device identity binding does not verify');
  }
  let list: ReturnType<typeof decodeSignedDeviceList>;
  try {
    list = decodeSignedDeviceList(listBytes);
    await verifyDeviceList(ctx.provider, accountKey, list);
  } catch {
    throw new ServerError('INVALID_SIGNATURE', 'device list is malformed or not signed by the account key');
  }
  const only = list.devices[0];
  if (
    list.devices.length !== 1 ||
    only === undefined ||
    only.id !== 1 ||
    !constantTimeEqual(only.identity, identityBytes)
  ) {
    throw new ServerError('BAD_FRAME', 'a new account lists exactly its first device, id 1');
  }
  if (!(await ctx.provider.ed25519Verify(identity.signingKey, authSignedBytes(ctx.conn.nonce, name, 0), signature))) {
    throw new ServerError('AUTH_FAILED', 'challenge signature does not verify');
  }
  const outcome = await ctx.storage.createAccount(
    {
      name,
      accountKey,
      deviceList: listBytes,
      listVersion: list.version,
      createdAt: ctx.clock(),
      devices: [{ account: name, id: 1, identity: identityBytes }],
    },
    ctx.inviteOnly && invite !== undefined ? inviteHash(invite) : undefined,
  );
  if (outcome === 'name-taken') throw new ServerError('NAME_TAKEN', 'that account name is taken');
  if (outcome === 'bad-invite') throw new ServerError('INVITE_REQUIRED', 'the invite code is unknown or used');
  ctx.becomeAuthenticated(name, 1);
  return { device: 1 };
}

async function auth(a: Args, ctx: OpContext) {
  if (ctx.conn.auth !== undefined) throw new ServerError('ALREADY_AUTHENTICATED', 'this connection is authenticated');
  const name = a.accountName('name');
  const device = a.u32('device');
  const signature = a.bytes('signature', 64);
  const row = (await ctx.storage.listDevices(name)).find((d) => d.id === device);
  // The same answer for an unknown device and a bad signature: no account probing here.
  const ok =
    row !== undefined &&
    (await ctx.provider.ed25519Verify(
      decodeDeviceIdentityPublic(row.identity).signingKey,
      authSignedBytes(ctx.conn.nonce, name, device),
      signature,
    ));
  if (!ok) throw new ServerError('AUTH_FAILED', 'unknown device or challenge signature does not verify');
  ctx.becomeAuthenticated(name, device);
  const counts = await ctx.storage.countPreKeys(name, device);
  ctx.conn.afterResponse.push(() => notifyIfLow(ctx, name, device, counts));
  return { device };
}

async function uploadKeys(a: Args, ctx: OpContext) {
  const { account, device } = requireAuth(ctx);
  const identity = await callerIdentity(ctx, account, device);
  const readSigned = (x: Args, keyLength: number): SignedKeyRow => ({
    id: x.u32('id'),
    publicKey: x.bytes('publicKey', keyLength),
    signature: x.bytes('signature', 64),
  });
  const spkArgs = a.optionalObject('signedPreKey');
  const signedPreKey = spkArgs && readSigned(spkArgs, 32);
  const oneTimePreKeys = a
    .objects('oneTimePreKeys', 200)
    .map((x) => ({ id: x.u32('id'), publicKey: x.bytes('publicKey', 32) }));
  const kemPreKeys = a.objects('kemPreKeys', 100).map((x) => readSigned(x, MLKEM_PUBLIC_KEY_LENGTH));
  const lrArgs = a.optionalObject('lastResortKemPreKey');
  const lastResortKemPreKey = lrArgs && readSigned(lrArgs, MLKEM_PUBLIC_KEY_LENGTH);

  if (
    signedPreKey &&
    !(await verifySignedPreKey(ctx.provider, identity, signedPreKey.id, signedPreKey.publicKey, signedPreKey.signature))
  ) {
    throw new ServerError('INVALID_SIGNATURE', 'signed prekey signature does not verify');
  }
  for (const k of kemPreKeys) {
    if (!(await verifyKemPreKey(ctx.provider, identity, k.id, false, k.publicKey, k.signature))) {
      throw new ServerError('INVALID_SIGNATURE', 'ML-KEM prekey signature does not verify');
    }
  }
  if (
    lastResortKemPreKey &&
    !(await verifyKemPreKey(
      ctx.provider,
      identity,
      lastResortKemPreKey.id,
      true,
      lastResortKemPreKey.publicKey,
      lastResortKemPreKey.signature,
    ))
  ) {
    throw new ServerError('INVALID_SIGNATURE', 'last-resort ML-KEM prekey signature does not verify');
  }
  const before = await ctx.storage.countPreKeys(account, device);
  if (
    before.oneTime + oneTimePreKeys.length > ctx.limits.maxStoredPreKeys ||
    before.kem + kemPreKeys.length > ctx.limits.maxStoredPreKeys
  ) {
    throw new ServerError(
      'BAD_FRAME',
      `a device may store at most ${ctx.limits.maxStoredPreKeys} one-time prekeys of each kind`,
    );
  }
  return ctx.storage.storePreKeys(account, device, { signedPreKey, oneTimePreKeys, kemPreKeys, lastResortKemPreKey });
}

function notifyIfLow(ctx: OpContext, account: string, device: number, counts: { oneTime: number; kem: number }): void {
  if (counts.oneTime >= ctx.limits.lowPreKeyThreshold && counts.kem >= ctx.limits.lowPreKeyThreshold) return;
  ctx.hub.notify(account, device, { type: 'keys-low', oneTime: counts.oneTime, kem: counts.kem });
}

async function fetchBundles(a: Args, ctx: OpContext) {
  const me = requireAuth(ctx);
  rateLimit(ctx.accountLimits.fetches, me.account, ctx.clock(), 'key fetches');
  const row = await readAccount(a, ctx);
  const devices = await ctx.storage.listDevices(row.name);
  const wanted = a.optionalU32List('devices', MAX_DEVICES);
  const chosen = wanted === undefined ? devices : devices.filter((d) => wanted.includes(d.id));
  if (wanted !== undefined && chosen.length !== new Set(wanted).size) {
    throw new ServerError('STALE_DEVICES', 'some requested devices do not exist', {
      devices: devices.map((d) => d.id),
      missing: [],
      extra: wanted.filter((id) => !devices.some((d) => d.id === id)),
    } satisfies StaleDevicesDetails);
  }
  const bundles: { device: number; bundle: string }[] = [];
  for (const d of chosen) {
    if (d.account === me.account && d.id === me.device) continue;
    const taken = await ctx.storage.takeBundle(row.name, d.id);
    if (taken === undefined) continue;
    bundles.push({
      device: d.id,
      bundle: toBase64Url(
        encodePreKeyBundle({
          identity: d.identity,
          signedPreKey: taken.signedPreKey,
          oneTimePreKey: taken.oneTimePreKey,
          kemPreKey: taken.kemPreKey,
        }),
      ),
    });
    notifyIfLow(ctx, row.name, d.id, await ctx.storage.countPreKeys(row.name, d.id));
  }
  if (bundles.length === 0 && chosen.some((d) => !(d.account === me.account && d.id === me.device))) {
    throw new ServerError('NO_PREKEYS', 'the account has published no usable prekeys');
  }
  return { accountKey: toBase64Url(row.accountKey), deviceList: toBase64Url(row.deviceList), bundles };
}

async function send(a: Args, ctx: OpContext) {
  const me = requireAuth(ctx);
  rateLimit(ctx.accountLimits.sends, me.account, ctx.clock(), 'sends');
  const recipient = a.accountName('name');
  const messageId = readMessageId(a);
  const resend = a.optionalBoolean('resend') ?? false;
  const messages = a.objects('messages', MAX_DEVICES).map((m) => {
    const kind = m.string('kind', 16);
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
      keyId: m.optionalString('keyId', 16),
    };
  });
  if (messages.length === 0) throw new ServerError('BAD_FRAME', 'expected at least one message');
  if (messages.length > 1 && new Set(messages.map((m) => m.device)).size !== messages.length)
    throw new ServerError('BAD_FRAME', 'one message per device');
  const set = await ctx.storage.deviceSet(recipient);
  if (set.length === 0) throw new ServerError('UNKNOWN_ACCOUNT', 'no such account');
  const self = recipient === me.account ? me.device : undefined;
  if (!addressesCurrentDevices(messages, set, self, resend)) throw staleDevices(messages, set, self, resend);
  const later = ctx.hub.send({ sender: me.account, senderDevice: me.device, messageId, messages }).then((outcome) => {
    if (outcome.status === 'queue-full') {
      throw new ServerError('QUEUE_FULL', 'a recipient device’s queue is full', {
        devices: outcome.devices.map((d) => d.device),
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

async function updateDevices(a: Args, ctx: OpContext) {
  const me = requireAuth(ctx);
  const bytes = a.bytes('deviceList', undefined, 4096);
  const row = await ctx.storage.getAccount(me.account);
  if (row === undefined) throw new ServerError('NOT_AUTHENTICATED', 'this account no longer exists');
  let list: ReturnType<typeof decodeSignedDeviceList>;
  try {
    list = decodeSignedDeviceList(bytes);
    await verifyDeviceList(ctx.provider, row.accountKey, list);
  } catch {
    throw new ServerError('INVALID_SIGNATURE', 'device list is malformed or not signed by the account key');
  }
  if (list.version <= row.listVersion) {
    throw new ServerError(
      'STALE_DEVICE_LIST',
      `the stored device list is version ${row.listVersion}; send a newer one`,
      {
        version: row.listVersion,
      },
    );
  }
  const mine = (await ctx.storage.listDevices(me.account)).find((d) => d.id === me.device);
  const stillListed = list.devices.find((d) => d.id === me.device);
  if (mine === undefined || stillListed === undefined || !constantTimeEqual(mine.identity, stillListed.identity)) {
    throw new ServerError('BAD_FRAME', 'a device cannot remove itself or change its own identity');
  }
  for (const d of list.devices) {
    if (!(await verifyDeviceIdentityPublic(ctx.provider, decodeDeviceIdentityPublic(d.identity)))) {
      throw new ServerError('INVALID_SIGNATURE', `device ${d.id}'s identity binding does not verify`);
    }
  }
  const result = await ctx.storage.updateDeviceList(me.account, row.listVersion, {
    bytes,
    version: list.version,
    devices: list.devices.map((d) => ({ account: me.account, id: d.id, identity: d.identity })),
  });
  if (result.status === 'stale') throw new ServerError('STALE_DEVICE_LIST', 'the device list changed meanwhile; retry');
  for (const id of result.removed) ctx.hub.evict(me.account, id);
  return { version: list.version, removed: result.removed };
}

async function linkOpen(a: Args, ctx: OpContext) {
  if (ctx.conn.auth !== undefined)
    throw new ServerError('ALREADY_AUTHENTICATED', 'only a new device opens a link channel');
  if (ctx.conn.linkChannel !== undefined)
    throw new ServerError('BAD_FRAME', 'this connection already waits on a channel');
  const channel = toBase64Url(a.bytes('channel', 16));
  const identity = a.bytes('identity', DEVICE_IDENTITY_PUBLIC_LENGTH);
  const name = a.string('name', 64);
  const mac = a.bytes('mac', 32);
  const now = ctx.clock();
  const expiresAt = now + ctx.limits.linkTtlMs;
  const opened = await ctx.links.open(
    channel,
    { identity: toBase64Url(identity), name, mac: toBase64Url(mac), expiresAt },
    now,
    (body) => ctx.send({ type: 'link', body }),
  );
  if (!opened) throw new ServerError('BAD_FRAME', 'that channel id is in use');
  ctx.conn.linkChannel = channel;
  ctx.conn.extendHandshake(ctx.limits.linkTtlMs);
  return { expiresAt };
}

const unknownChannel = () => new ServerError('UNKNOWN_CHANNEL', 'no such link channel (wrong or expired code)');

async function linkGet(a: Args, ctx: OpContext) {
  requireAuth(ctx);
  const channel = await ctx.links.get(toBase64Url(a.bytes('channel', 16)), ctx.clock());
  if (channel === undefined) throw unknownChannel();
  return { identity: channel.identity, name: channel.name, mac: channel.mac };
}

async function linkSend(a: Args, ctx: OpContext) {
  requireAuth(ctx);
  const id = toBase64Url(a.bytes('channel', 16));
  // The canonical text it arrived as is what the waiting device gets: no decode and re-encode.
  const body = a.bytesAndText('body', 512 * 1024).text;
  if (!(await ctx.links.answer(id, body, ctx.clock()))) throw unknownChannel();
  return {};
}

/** Runs one operation. */
export async function runOp(op: RelayOp, rawArgs: unknown, ctx: OpContext): Promise<unknown> {
  const a = readArgs(rawArgs);
  switch (op) {
    case 'register':
      return register(a, ctx);
    case 'auth':
      return auth(a, ctx);
    case 'upload-keys':
      return uploadKeys(a, ctx);
    case 'key-count': {
      const me = requireAuth(ctx);
      return ctx.storage.countPreKeys(me.account, me.device);
    }
    case 'get-account': {
      const row = await readAccount(a, ctx);
      return { accountKey: toBase64Url(row.accountKey), deviceList: toBase64Url(row.deviceList) };
    }
    case 'fetch-bundles':
      return fetchBundles(a, ctx);
    case 'send':
      return send(a, ctx);
    case 'update-devices':
      return updateDevices(a, ctx);
    case 'link-open':
      return linkOpen(a, ctx);
    case 'link-get':
      return linkGet(a, ctx);
    case 'link-send':
      return linkSend(a, ctx);
    case 'upload-key-packages':
      return uploadKeyPackages(a, ctx);
    case 'fetch-key-packages':
      return fetchKeyPackages(a, ctx);
    case 'group-create':
      return groupCreate(a, ctx);
    case 'group-commit':
      return groupCommit(a, ctx);
    case 'group-send':
      return groupSend(a, ctx);
    case 'group-info':
      return groupInfo(a, ctx);
  }
}
