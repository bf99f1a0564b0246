/**
 * The KeyPackage directory ops (docs/protocol.md §14): MLS KeyPackages are to groups what
 * one-time prekeys are to 1:1 sessions. The server checks each upload (well-formed, signed by
 * the device's identity key, credential naming this account and device) so it stores only
 * packages their owner vouched for; the adder's client checks them again.
 */
import {
  type DeviceIdentityPublic,
  loadGroupProtocol,
  type RelayOps,
  type TooManyKeyPackagesDetails,
  toBase64Url,
} from '@parley/protocol';
import { ServerError } from '../errors.ts';
import type { Args } from './args.ts';
import { callerIdentity, type OpContext, rateLimit, readAccount, requireAuth, targetFetchLimit } from './context.ts';

/**
 * `upload-key-packages`: checks every package, then stores them all or none (INVALID_KEY_PACKAGE
 * for any bad one; BAD_FRAME when the device's stock would pass `maxStoredKeyPackages`).
 */
export async function uploadKeyPackages(a: Args, ctx: OpContext): Promise<RelayOps['upload-key-packages']['result']> {
  const me = requireAuth(ctx);
  const { maxKeyPackagesPerUpload, maxKeyPackageBytes } = ctx.limits;
  const oneTime = a.bytesList('keyPackages', maxKeyPackagesPerUpload, maxKeyPackageBytes);
  const lastResort = a.optionalBytes('lastResort', maxKeyPackageBytes);
  const identity = await callerIdentity(ctx, me.account, me.device);
  for (const kp of lastResort === undefined ? oneTime : [...oneTime, lastResort]) {
    await requireValidKeyPackage(kp, me, identity);
  }
  const max = ctx.limits.maxStoredKeyPackages;
  const outcome = await ctx.storage.storeKeyPackages(me.account, me.device, { oneTime, lastResort }, max);
  if (outcome.status === 'too-many') {
    throw new ServerError('BAD_FRAME', `a device may store at most ${max} one-time KeyPackages`, {
      keyPackages: outcome.count,
    } satisfies TooManyKeyPackagesDetails);
  }
  return { keyPackages: outcome.count };
}

async function requireValidKeyPackage(
  keyPackage: Uint8Array,
  me: { account: string; device: number },
  identity: DeviceIdentityPublic,
): Promise<void> {
  const { checkKeyPackage } = await loadGroupProtocol();
  try {
    await checkKeyPackage(keyPackage, { account: me.account, device: me.device, signingKey: identity.signingKey });
  } catch {
    // Untrusted input: whatever the check throws, the package is not stored.
    throw new ServerError(
      'INVALID_KEY_PACKAGE',
      'a KeyPackage is malformed, badly signed, or names another account, device or key',
    );
  }
}

/**
 * `fetch-key-packages`: one KeyPackage for every device of the account except the caller's own,
 * each one-time package consumed atomically, else the device's last-resort one. A device whose
 * stock falls below `lowKeyPackageThreshold` is told so if it is connected to this node.
 */
export async function fetchKeyPackages(a: Args, ctx: OpContext): Promise<RelayOps['fetch-key-packages']['result']> {
  const me = requireAuth(ctx);
  rateLimit(ctx.accountLimits.fetches, me.account, ctx.clock(), 'key fetches');
  const row = await readAccount(a, ctx);
  const devices = (await ctx.storage.listDevices(row.name)).filter(
    (d) => !(row.name === me.account && d.id === me.device),
  );
  const ids = devices.map((d) => d.id);
  const spare = targetFetchLimit(ctx, me.account, row.name, 'key-packages', ids) === 'spare';
  const keyPackages: { device: number; keyPackage: string }[] = [];
  for (const d of devices) {
    // The grant lets this device list d in a group commit (docs/protocol.md §14.3).
    const grant = {
      to: { account: me.account, device: me.device },
      expiresAt: ctx.clock() + ctx.limits.keyPackageGrantMs,
    };
    const taken = await ctx.storage.takeKeyPackage(row.name, d.id, grant, spare);
    if (taken === undefined) continue;
    keyPackages.push({ device: d.id, keyPackage: toBase64Url(taken.keyPackage) });
    if (taken.remaining < ctx.limits.lowKeyPackageThreshold) {
      ctx.hub.notify(row.name, d.id, { type: 'key-packages-low', count: taken.remaining });
    }
  }
  if (keyPackages.length === 0 && devices.length > 0) {
    throw new ServerError('NO_KEY_PACKAGES', 'the account has published no KeyPackages');
  }
  return { accountKey: toBase64Url(row.accountKey), deviceList: toBase64Url(row.deviceList), keyPackages };
}
