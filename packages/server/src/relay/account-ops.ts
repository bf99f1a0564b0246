/**
 * The account ops (docs/protocol.md §11): creating an account, authenticating a device, reading
 * an account's keys, and replacing its signed device list. The server checks every signature it
 * can (device identity binding, device list, challenge answers) so that it stores only keys
 * their owner vouched for; clients check them again, since the server is not trusted.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  accountNameSkeleton,
  authSignedBytes,
  constantTimeEqual,
  DEVICE_IDENTITY_PUBLIC_LENGTH,
  decodeDeviceIdentityPublic,
  decodeSignedDeviceList,
  deleteAccountSignedBytes,
  ED25519_PUBLIC_KEY_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  NAME_SKELETON_RULE,
  type NameConfusableDetails,
  type RelayOps,
  toBase64Url,
  verifyDeviceIdentityPublic,
  verifyDeviceList,
} from '@parley/protocol';
import { ServerError } from '../errors.ts';
import type { Args } from './args.ts';
import { type OpContext, readAccount, requireAuth } from './context.ts';
import { ktField } from './kt-ops.ts';
import { notifyIfLow } from './prekey-ops.ts';

/** SHA-256 of an invite code: the database keeps only hashes. */
export function inviteHash(code: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(code, 'utf8').digest());
}

/**
 * `register`: creates an account with its first device (id 1) on an unauthenticated connection.
 * The device identity binding, the device list (signed by the account key, listing exactly this
 * device) and the challenge answer must all verify; an invite is needed on invite-only servers.
 */
export async function register(a: Args, ctx: OpContext): Promise<RelayOps['register']['result']> {
  if (ctx.conn.auth !== undefined) throw new ServerError('ALREADY_AUTHENTICATED', 'this connection is authenticated');
  const name = a.accountName('name');
  const accountKey = a.bytes('accountKey', ED25519_PUBLIC_KEY_LENGTH);
  const identityBytes = a.bytes('identity', DEVICE_IDENTITY_PUBLIC_LENGTH);
  const listBytes = a.bytes('deviceList', undefined, ctx.limits.maxDeviceListBytes);
  const invite = a.optionalString('invite', ctx.limits.maxInviteLength);
  const signature = a.bytes('signature', ED25519_SIGNATURE_LENGTH);
  if (ctx.inviteOnly && invite === undefined)
    throw new ServerError('INVITE_REQUIRED', 'this server registers by invite only');
  // Every attempt counts, before any signature is checked: per source, then for the whole node.
  const wait = ctx.sources.register(ctx.conn.source, ctx.clock());
  if (wait > 0) {
    throw new ServerError('RATE_LIMITED', 'too many registrations from your address or on this server; try later', {
      retryAfterMs: wait,
    });
  }

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
  const skeleton = accountNameSkeleton(name);
  const outcome = await ctx.storage.createAccount(
    {
      name,
      skeleton,
      accountKey,
      deviceList: listBytes,
      listVersion: list.version,
      createdAt: ctx.clock(),
      devices: [{ account: name, id: 1, identity: identityBytes }],
    },
    ctx.inviteOnly && invite !== undefined ? inviteHash(invite) : undefined,
  );
  if (outcome === 'name-taken') throw new ServerError('NAME_TAKEN', 'that account name is taken');
  if (outcome === 'name-confusable') {
    const details: NameConfusableDetails = { skeleton };
    throw new ServerError(
      'NAME_CONFUSABLE',
      `that name looks like an existing account's (${NAME_SKELETON_RULE})`,
      details,
    );
  }
  if (outcome === 'bad-invite') throw new ServerError('INVITE_REQUIRED', 'the invite code is unknown or used');
  ctx.becomeAuthenticated(name, 1);
  return { device: 1, ...ctx.kt.publicKeys() };
}

/**
 * `auth`: authenticates the connection as one registered device by its answer to the challenge;
 * the device is told after the answer if its prekey stock is low.
 */
export async function auth(a: Args, ctx: OpContext): Promise<RelayOps['auth']['result']> {
  if (ctx.conn.auth !== undefined) throw new ServerError('ALREADY_AUTHENTICATED', 'this connection is authenticated');
  const name = a.accountName('name');
  const device = a.u32('device');
  const signature = a.bytes('signature', ED25519_SIGNATURE_LENGTH);
  const token = a.optionalBytes('token', AUTH_TOKEN_LENGTH);
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
  // A token other than the last one issued to this device: another home holding its key (a copy)
  // authenticated in between. Told before this connection attaches (so an open connection of the
  // device hears it before it is replaced), and to this connection once it is in.
  const next = randomBytes(AUTH_TOKEN_LENGTH);
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();
  const outcome = await ctx.storage.rotateAuthToken(name, device, token && sha(token), sha(next));
  ctx.becomeAuthenticated(name, device);
  if (outcome === 'mismatch') {
    ctx.hub.keyInUse(name, device);
    ctx.conn.afterResponse.push(() => ctx.send({ type: 'key-in-use', device }));
  }
  const counts = await ctx.storage.countPreKeys(name, device);
  ctx.conn.afterResponse.push(() => notifyIfLow(ctx, name, device, counts));
  return { device, token: toBase64Url(next), ...ctx.kt.publicKeys() };
}

/** Length of a device's connection token (docs/protocol.md §11, `auth`). */
const AUTH_TOKEN_LENGTH = 32;

/** `get-account`: an account's key and signed device list (authenticated callers only). */
export async function getAccount(a: Args, ctx: OpContext): Promise<RelayOps['get-account']['result']> {
  const row = await readAccount(a, ctx);
  return {
    accountKey: toBase64Url(row.accountKey),
    deviceList: toBase64Url(row.deviceList),
    ...(await ktField(ctx, row.name)),
  };
}

/**
 * `update-devices`: replaces the caller's account's signed device list with a newer version
 * (adds and removes devices); removed devices are disconnected. A device cannot remove itself.
 */
/**
 * `delete-account`: deletes the caller's account for good, given the account key's signature
 * (`deleteAccountSignedBytes`): its devices, keys, prekeys, KeyPackages, queues, group delivery
 * rows and send log (in one transaction), then its attachment blobs; the account's other
 * devices are disconnected. The caller's own connection is left to the caller to close.
 * Afterwards the name is unknown (`UNKNOWN_ACCOUNT` to anyone sending to it) and free.
 */
export async function deleteAccount(a: Args, ctx: OpContext): Promise<RelayOps['delete-account']['result']> {
  const me = requireAuth(ctx);
  const signature = a.bytes('signature', ED25519_SIGNATURE_LENGTH);
  const row = await ctx.storage.getAccount(me.account);
  if (row === undefined) throw new ServerError('NOT_AUTHENTICATED', 'this account no longer exists');
  const signed = deleteAccountSignedBytes(me.account, row.accountKey);
  if (!(await ctx.provider.ed25519Verify(row.accountKey, signed, signature))) {
    throw new ServerError('INVALID_SIGNATURE', 'the deletion is not signed by the account key');
  }
  const devices = await ctx.storage.deleteAccount(me.account, row.accountKey);
  if (devices === undefined) throw new ServerError('NOT_AUTHENTICATED', 'this account no longer exists');
  for (const blob of await ctx.blobs.list(me.account)) await ctx.blobs.store.delete(blob.id);
  for (const id of devices) if (id !== me.device) ctx.hub.evict(me.account, id);
  return {};
}

export async function updateDevices(a: Args, ctx: OpContext): Promise<RelayOps['update-devices']['result']> {
  const me = requireAuth(ctx);
  const bytes = a.bytes('deviceList', undefined, ctx.limits.maxDeviceListBytes);
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
