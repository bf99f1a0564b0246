/**
 * Fan-out (Sesame-style, docs/protocol.md §10): one message to an account is encrypted once
 * per device on its trusted signed list, starting a session from a fresh prekey bundle where
 * there is none. Never to a device the account key did not sign.
 */
import {
  constantTimeEqual,
  encodeDeviceIdentityPublic,
  encrypt,
  fromBase64Url,
  hasSession,
  isProtocolError,
  processPreKeyBundle,
  type RelayOps,
  type SessionContext,
  toBase64Url,
  type WireOutgoing,
} from '@parley/protocol';
import type { Directory } from '../directory/directory.ts';
import { ClientError, isRelayRefusal } from '../errors.ts';
import type { HomeProtocolStores } from '../home/protocol-stores.ts';
import { type RelayLink, requireConnected } from '../relay/relay-link.ts';

/** What fan-out needs. */
export interface FanOutDeps {
  readonly session: SessionContext;
  readonly stores: HomeProtocolStores;
  readonly directory: Directory;
  /** The clock bundles' signed prekey creation times are checked against. */
  readonly clock: () => number;
  me(): string;
  link(): RelayLink | undefined;
}

/** Encrypts `content` for every listed device of `name` (or just `only`), starting sessions as needed. */
export type EncryptFor = (name: string, content: Uint8Array, only: number | null) => Promise<WireOutgoing[]>;

/** Creates `encryptFor` over the session stores and the directory. */
export function createFanOut(deps: FanOutDeps): EncryptFor {
  const { session, stores, directory } = deps;
  return async (name, content, only) => {
    await directory.requireTrusted(name);
    const devices = directory.listedDevices(name).filter((d) => only === null || d === only);
    const missing: number[] = [];
    const stale: number[] = [];
    for (const device of devices) {
      const address = { account: name, device };
      // A session with an identity the list no longer has (the device id was re-linked) is dropped.
      const known = await stores.identityStore.getRemoteIdentity(address);
      const listed = directory.listedIdentity(name, device);
      if (
        known !== undefined &&
        listed !== undefined &&
        !constantTimeEqual(encodeDeviceIdentityPublic(known), listed)
      ) {
        stores.sessionStore.deleteSession(address);
      }
      if (!(await hasSession(session, address))) missing.push(device);
    }
    if (missing.length > 0) {
      let r: RelayOps['fetch-bundles']['result'];
      try {
        r = await requireConnected(deps.link()).request('fetch-bundles', { name, devices: missing });
      } catch (err) {
        if (isRelayRefusal(err, 'NO_PREKEYS'))
          throw new ClientError('NO_PREKEYS', `${name} has no prekeys on the server`);
        throw err;
      }
      if (name !== deps.me()) await directory.checkServed(name, r.accountKey, r.deviceList, (r as { kt?: unknown }).kt);
      for (const b of r.bundles) {
        // processPreKeyBundle refuses an identity that is not the one on the signed device list,
        // and a signed or last-resort prekey older than MAX_PREKEY_AGE_MS (STALE_PREKEY): such a
        // device is left out (its home may be a copy's, or it has not connected for two weeks).
        try {
          await processPreKeyBundle(session, { account: name, device: b.device }, fromBase64Url('bundle', b.bundle), {
            now: deps.clock(),
          });
        } catch (err) {
          if (!isProtocolError(err, 'STALE_PREKEY')) throw err;
          stale.push(b.device);
        }
      }
    }
    const out: WireOutgoing[] = [];
    for (const device of devices) {
      if (!(await hasSession(session, { account: name, device }))) continue;
      const m = await encrypt(session, { account: name, device }, content);
      const listed = directory.listedIdentity(name, device);
      const keyId = listed === undefined ? undefined : toBase64Url(listed.subarray(0, 8));
      out.push({ device, kind: m.type, body: toBase64Url(m.body), ...(keyId === undefined ? {} : { keyId }) });
    }
    if (out.length === 0 && stale.length > 0) {
      throw new ClientError(
        'NO_PREKEYS',
        `${name}'s prekeys on the server are older than two weeks (device ${stale.join(', ')}): not used`,
      );
    }
    return out;
  };
}
