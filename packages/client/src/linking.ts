/**
 * Linking devices (docs/protocol.md §13). The new device (`startLink`) makes a device identity
 * and a link code, publishes its identity on a link channel and waits; an existing device
 * (`acceptLink`) reads the code, checks the offer's MAC, signs a new device list with the
 * account key, and sends the new device a sealed payload: the account, its device id, the
 * signed list, contacts with their pinned keys and verified states, and — only if asked — the
 * account private key.
 */
import {
  type CryptoProvider,
  constantTimeEqual,
  createLinkCode,
  decodeDeviceIdentityPublic,
  decodeLinkCode,
  decodeSignedDeviceList,
  encodeDeviceIdentityPublic,
  encodeLinkCode,
  encodeSignedDeviceList,
  fromBase64Url,
  generateDeviceIdentity,
  linkOfferMac,
  openLinkPayload,
  type RandomSource,
  RELAY_API_VERSION,
  type ServerFrame,
  type SignedDeviceList,
  sealLinkPayload,
  signDeviceList,
  toBase64Url,
  utf8,
  verifyDeviceIdentityPublic,
  verifyDeviceList,
  verifyLinkOffer,
} from '@parley/protocol';
import { ClientError, isRelayRefusal } from './errors.ts';
import { type Contacts, createContacts } from './home/contacts.ts';
import { whenDurable } from './home/database.ts';
import { createProfileStore, type Profile } from './home/profile.ts';
import type { ClientPlatform } from './platform.ts';
import { type RelayLink, relayWebSocketUrl } from './relay/relay-link.ts';
import { checkServerUrl, isInsecureRemote } from './relay/server-url.ts';

/** What crosses the link channel, sealed. */
interface LinkPayload {
  readonly v: 1;
  readonly name: string;
  readonly server: string;
  readonly device: number;
  readonly accountKey: string;
  readonly accountPrivateKey?: string;
  readonly deviceList: string;
  readonly deviceNames: Record<string, string>;
  readonly contacts: { name: string; accountKey: string; deviceList: string; verified: boolean }[];
}

/** A started link: show `code` (text or QR) to an existing device; `done` resolves when linked. */
export interface PendingLink {
  readonly code: string;
  readonly done: Promise<{ name: string; device: number }>;
  cancel(): void;
}

/** Options of `startLink`. */
export interface StartLinkOptions {
  /** The (empty) home that becomes the new device. */
  home: string;
  server: string;
  deviceName: string;
  /**
   * Allow an `http://` server that is not on this machine (no TLS), as `ClientOptions.allowInsecure`;
   * remembered in the new home.
   */
  allowInsecure?: boolean;
  provider?: CryptoProvider;
  random?: RandomSource;
  /**
   * Bounds connecting: if it aborts before the server has opened the link channel, `startLink`
   * gives up (`SERVER_UNREACHABLE` when no connection was made, `TIMEOUT` when the server
   * connected but did not open the channel). The wait for an existing device to use the code
   * is bounded by the code's own lifetime, not by this signal.
   */
  signal?: AbortSignal;
}

/**
 * Starts linking this (empty) home as a new device of an existing account. The returned code
 * is the only thing that must reach the existing device; it never goes through the server.
 */
export async function startLinkOn(platform: ClientPlatform, options: StartLinkOptions): Promise<PendingLink> {
  // Before the home is made or anything connects.
  checkServerUrl(options.server, options.allowInsecure === true);
  const provider = options.provider ?? platform.provider();
  const random = options.random ?? platform.random();
  const db = await platform.openHome(options.home);
  const profiles = createProfileStore(db);
  if (profiles.load() !== undefined) {
    db.close();
    throw new ClientError('ALREADY_REGISTERED', `${options.home} already holds an account`);
  }
  const code = createLinkCode(random);
  const device = await generateDeviceIdentity(provider, random);
  const identity = encodeDeviceIdentityPublic(device.publicIdentity);
  const mac = await linkOfferMac(provider, code, identity, options.deviceName);

  // The new device has no account to authenticate yet, so it does not open a relay link: its one
  // socket is a link channel, which ends with the connection (nothing to reconnect to).
  type Frame = ServerFrame;
  let ws: ReturnType<ClientPlatform['openWebSocket']>;
  try {
    ws = platform.openWebSocket(relayWebSocketUrl(options.server), 4 * 1024 * 1024);
  } catch {
    db.close();
    throw new ClientError('SERVER_UNREACHABLE', `cannot reach the server at ${options.server}`);
  }
  // Frames go to the opening handshake until the channel is open, then to the link listener.
  let onFrame: (f: Frame) => void = () => {};
  // Set below, while connecting: `options.signal` gives up on a server that does not open the channel.
  let onAbort = (): void => {};
  ws.addEventListener('message', (e) => {
    let f: Frame;
    try {
      f = JSON.parse(String(e.data)) as Frame;
    } catch {
      // Not JSON: not a frame of the relay's; the link waits for the ones that are.
      return;
    }
    onFrame(f);
  });
  const opened = new Promise<void>((resolve, reject) => {
    onFrame = (f) => {
      if (f.type === 'challenge') {
        const args = {
          channel: toBase64Url(code.channel),
          identity: toBase64Url(identity),
          name: options.deviceName,
          mac: toBase64Url(mac),
        };
        ws.send(JSON.stringify({ v: RELAY_API_VERSION, type: 'request', id: 1, op: 'link-open', args }));
      } else if ((f.type === 'response' || f.type === 'error') && f.id === 1) {
        onFrame = () => {};
        if (f.type === 'response') resolve();
        else reject(new ClientError('SERVER_REFUSED', `server refused: ${f.message}`, { relayCode: f.code }));
      }
    };
    const unreachable = () =>
      reject(new ClientError('SERVER_UNREACHABLE', `cannot reach the server at ${options.server}`));
    ws.addEventListener('error', unreachable);
    ws.addEventListener('close', unreachable);
    let connected = false;
    ws.addEventListener('open', () => {
      connected = true;
    });
    onAbort = () =>
      reject(
        connected
          ? new ClientError(
              'TIMEOUT',
              `the server at ${options.server} did not open a link channel before the deadline`,
            )
          : new ClientError(
              'SERVER_UNREACHABLE',
              `cannot reach the server at ${options.server} (no connection before the deadline)`,
            ),
      );
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await opened;
  } catch (err) {
    ws.close();
    db.close();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }

  // Set once the sealed payload arrived: from then on the payload handler closes the home.
  let receiving = false;
  const done = new Promise<{ name: string; device: number }>((resolve, reject) => {
    onFrame = (f) => {
      if (f.type === 'error' && f.code === 'HANDSHAKE_TIMEOUT') {
        reject(new ClientError('TIMEOUT', 'the link code expired before an existing device used it'));
        return;
      }
      if (f.type !== 'link') return;
      receiving = true;
      void (async () => {
        const sealed = fromBase64Url('body', f.body);
        const plain = await openLinkPayload(provider, code, device, identity, sealed);
        const p = JSON.parse(new TextDecoder().decode(plain)) as LinkPayload;
        const accountKey = fromBase64Url('accountKey', p.accountKey);
        const list = decodeSignedDeviceList(fromBase64Url('deviceList', p.deviceList));
        await verifyDeviceList(provider, accountKey, list);
        const me = list.devices.find((x) => x.id === p.device);
        if (me === undefined || !constantTimeEqual(me.identity, identity)) {
          throw new ClientError('INVALID_DEVICE_LIST', 'the signed device list does not list this device');
        }
        const account =
          p.accountPrivateKey === undefined
            ? undefined
            : {
                version: 1 as const,
                privateKey: fromBase64Url('accountPrivateKey', p.accountPrivateKey),
                publicKey: accountKey,
              };
        const profile: Profile = {
          name: p.name,
          server: options.server,
          device: p.device,
          registered: true,
          accountKey,
          account,
          identity: device,
          deviceList: list,
        };
        profiles.save(profile);
        if (options.allowInsecure === true && isInsecureRemote(options.server)) profiles.allowInsecure();
        for (const [id, n] of Object.entries(p.deviceNames)) profiles.setDeviceName(Number(id), n);
        createContacts(db, provider).importLinked(
          p.contacts.map((c) => ({
            name: c.name,
            accountKey: fromBase64Url('accountKey', c.accountKey),
            deviceList: fromBase64Url('deviceList', c.deviceList),
            verified: c.verified,
          })),
        );
        await whenDurable(db);
        return { name: p.name, device: p.device };
      })()
        .then(resolve, reject)
        .finally(() => {
          ws.close();
          db.close();
        });
    };
    ws.addEventListener('close', () => {
      if (!receiving) db.close();
      reject(new ClientError('SERVER_UNREACHABLE', 'the connection closed before the link completed'));
    });
  });
  return {
    code: toBase64Url(encodeLinkCode(code)),
    done,
    cancel() {
      ws.close();
    },
  };
}

/** What `acceptLink` needs from the running client. */
export interface LinkDeps {
  readonly provider: CryptoProvider;
  readonly random: RandomSource;
  readonly contacts: Contacts;
  profile(): Profile;
  setOwnList(list: SignedDeviceList): void;
  deviceNames(): Record<string, string>;
  setDeviceName(id: number, name: string): void;
  link(): RelayLink;
}

/** Signs and publishes `list` as the next version; returns it. */
async function publishList(deps: LinkDeps, devices: SignedDeviceList['devices']): Promise<SignedDeviceList> {
  const p = deps.profile();
  if (p.account === undefined) {
    throw new ClientError('INVALID_ARGUMENT', 'this device does not hold the account key; use the device that does');
  }
  const list = await signDeviceList(deps.provider, p.account.privateKey, p.deviceList.version + 1, devices);
  await deps.link().request('update-devices', { deviceList: toBase64Url(encodeSignedDeviceList(list)) });
  deps.setOwnList(list);
  return list;
}

/** Links the new device that shows `codeText`. */
export async function acceptLink(
  deps: LinkDeps,
  codeText: string,
  options: { transferAccountKey?: boolean } = {},
): Promise<{ device: number; name: string }> {
  let code: ReturnType<typeof decodeLinkCode>;
  try {
    code = decodeLinkCode(fromBase64Url('code', codeText.trim()));
  } catch {
    throw new ClientError('INVALID_ARGUMENT', 'that is not a link code (it should be 43 characters)');
  }
  let offer: { identity: string; name: string; mac: string };
  try {
    offer = await deps.link().request('link-get', { channel: toBase64Url(code.channel) });
  } catch (err) {
    if (isRelayRefusal(err, 'UNKNOWN_CHANNEL')) {
      throw new ClientError(
        'INVALID_ARGUMENT',
        'unknown or expired link code: start `parley link` again on the new device',
      );
    }
    throw err;
  }
  const identity = fromBase64Url('identity', offer.identity);
  try {
    await verifyLinkOffer(deps.provider, code, identity, offer.name, fromBase64Url('mac', offer.mac));
    if (!(await verifyDeviceIdentityPublic(deps.provider, decodeDeviceIdentityPublic(identity))))
      throw new Error('binding');
  } catch {
    throw new ClientError(
      'INVALID_ARGUMENT',
      'the link offer does not match this code (wrong code, or the server swapped the key)',
    );
  }
  const p = deps.profile();
  const id = Math.max(...p.deviceList.devices.map((d) => d.id)) + 1;
  const list = await publishList(deps, [...p.deviceList.devices, { id, identity }]);
  deps.setDeviceName(id, offer.name);
  const payload: LinkPayload = {
    v: 1,
    name: p.name,
    server: p.server,
    device: id,
    accountKey: toBase64Url(p.accountKey),
    ...(options.transferAccountKey && p.account ? { accountPrivateKey: toBase64Url(p.account.privateKey) } : {}),
    deviceList: toBase64Url(encodeSignedDeviceList(list)),
    deviceNames: deps.deviceNames(),
    contacts: deps.contacts.all().map((c) => ({
      name: c.name,
      accountKey: toBase64Url(c.accountKey),
      deviceList: toBase64Url(encodeSignedDeviceList(c.deviceList)),
      verified: c.verified,
    })),
  };
  const sealed = await sealLinkPayload(deps.provider, deps.random, code, identity, utf8(JSON.stringify(payload)));
  await deps.link().request('link-send', { channel: toBase64Url(code.channel), body: toBase64Url(sealed) });
  return { device: id, name: offer.name };
}

/** Removes device `id` from the account (re-signs the list without it). */
export async function removeDevice(deps: LinkDeps, id: number): Promise<void> {
  const p = deps.profile();
  if (id === p.device) throw new ClientError('INVALID_ARGUMENT', 'a device cannot remove itself');
  if (!p.deviceList.devices.some((d) => d.id === id))
    throw new ClientError('INVALID_ARGUMENT', `there is no device ${id}`);
  await publishList(
    deps,
    p.deviceList.devices.filter((d) => d.id !== id),
  );
}
