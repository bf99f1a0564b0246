/**
 * The prekey directory ops (docs/protocol.md §11): a device publishes its signed and one-time
 * prekeys (each signature checked against its identity, so the server stores only keys their
 * owner vouched for), counts its stock, and others take one bundle per device to start PQXDH.
 */
import {
  ED25519_SIGNATURE_LENGTH,
  encodePreKeyBundle,
  MAX_DEVICES,
  MLKEM_PUBLIC_KEY_LENGTH,
  type RelayOps,
  type StaleDevicesDetails,
  toBase64Url,
  verifyKemPreKey,
  verifySignedPreKey,
  X25519_KEY_LENGTH,
} from '@parley/protocol';
import { ServerError } from '../errors.ts';
import type { SignedKeyRow } from '../store/storage.ts';
import type { Args } from './args.ts';
import { callerIdentity, type OpContext, rateLimit, readAccount, requireAuth, targetFetchLimit } from './context.ts';
import { ktField } from './kt-ops.ts';

/**
 * `upload-keys`: stores the calling device's signed prekey, one-time X25519 and ML-KEM prekeys
 * and last-resort ML-KEM prekey, each signature checked (it covers the key's creation time, which
 * is stored and served with the key), within the device's stock limit.
 */
export async function uploadKeys(a: Args, ctx: OpContext): Promise<RelayOps['upload-keys']['result']> {
  const { account, device } = requireAuth(ctx);
  const identity = await callerIdentity(ctx, account, device);
  const readSigned = (x: Args, keyLength: number): SignedKeyRow => ({
    id: x.u32('id'),
    publicKey: x.bytes('publicKey', keyLength),
    signature: x.bytes('signature', ED25519_SIGNATURE_LENGTH),
    createdAt: x.u32('createdAt'),
  });
  const spkArgs = a.optionalObject('signedPreKey');
  const signedPreKey = spkArgs && readSigned(spkArgs, X25519_KEY_LENGTH);
  const oneTimePreKeys = a
    .objects('oneTimePreKeys', ctx.limits.maxPreKeysPerUpload)
    .map((x) => ({ id: x.u32('id'), publicKey: x.bytes('publicKey', X25519_KEY_LENGTH) }));
  const kemPreKeys = a
    .objects('kemPreKeys', ctx.limits.maxKemPreKeysPerUpload)
    .map((x) => readSigned(x, MLKEM_PUBLIC_KEY_LENGTH));
  const lrArgs = a.optionalObject('lastResortKemPreKey');
  const lastResortKemPreKey = lrArgs && readSigned(lrArgs, MLKEM_PUBLIC_KEY_LENGTH);

  if (
    signedPreKey &&
    !(await verifySignedPreKey(
      ctx.provider,
      identity,
      signedPreKey.id,
      signedPreKey.createdAt,
      signedPreKey.publicKey,
      signedPreKey.signature,
    ))
  ) {
    throw new ServerError('INVALID_SIGNATURE', 'signed prekey signature does not verify');
  }
  for (const k of kemPreKeys) {
    if (!(await verifyKemPreKey(ctx.provider, identity, k.id, false, k.createdAt, k.publicKey, k.signature))) {
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
      lastResortKemPreKey.createdAt,
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

/** `key-count`: the calling device's stock of unused one-time prekeys. */
export async function keyCount(_a: Args, ctx: OpContext): Promise<RelayOps['key-count']['result']> {
  const me = requireAuth(ctx);
  return ctx.storage.countPreKeys(me.account, me.device);
}

/** Tells a device (if connected to this node) that its one-time prekey stock is below the refill mark. */
export function notifyIfLow(
  ctx: OpContext,
  account: string,
  device: number,
  counts: { oneTime: number; kem: number },
): void {
  if (counts.oneTime >= ctx.limits.lowPreKeyThreshold && counts.kem >= ctx.limits.lowPreKeyThreshold) return;
  ctx.hub.notify(account, device, { type: 'keys-low', oneTime: counts.oneTime, kem: counts.kem });
}

/**
 * `fetch-bundles`: a prekey bundle for each (or each requested) device of an account except the
 * caller's own, each one-time prekey consumed; STALE_DEVICES for a requested device that does
 * not exist, NO_PREKEYS when no device has a usable bundle.
 */
export async function fetchBundles(a: Args, ctx: OpContext): Promise<RelayOps['fetch-bundles']['result']> {
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
  const ids = chosen.map((d) => d.id);
  const spare = targetFetchLimit(ctx, me.account, row.name, 'prekeys', ids) === 'spare';
  const bundles: { device: number; bundle: string }[] = [];
  for (const d of chosen) {
    if (d.account === me.account && d.id === me.device) continue;
    const taken = await ctx.storage.takeBundle(row.name, d.id, spare);
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
  return {
    accountKey: toBase64Url(row.accountKey),
    deviceList: toBase64Url(row.deviceList),
    bundles,
    ...(await ktField(ctx, row.name)),
  };
}
