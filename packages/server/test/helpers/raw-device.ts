/**
 * A raw relay client for server tests: speaks the JSON frames directly (no SDK), so tests can
 * send exactly the bad input they mean to, and see every frame the server answers with.
 */
import {
  type AccountIdentityKeyPair,
  authSignedBytes,
  type DeviceIdentityKeyPair,
  encodeDeviceIdentityPublic,
  encodeSignedDeviceList,
  fromBase64Url,
  generateAccountIdentity,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type ServerFrame,
  signDeviceList,
  toBase64Url,
} from '@parley/protocol';
import { createKeyPackage } from '@parley/protocol/groups';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import WebSocket from 'ws';

export const provider = createNodeCryptoProvider();
export const random = createNodeRandom();

type Frame = ServerFrame & Record<string, unknown>;

/** One raw connection with a frame inbox. */
export interface RawConnection {
  readonly ws: WebSocket;
  readonly frames: Frame[];
  /** Waits for the next frame matching `pred` (consuming it). */
  next(pred?: (f: Frame) => boolean, timeoutMs?: number): Promise<Frame>;
  sendRaw(data: string | Buffer, binary?: boolean): void;
  request(op: string, args: unknown): Promise<Frame>;
  /** Resolves with the close code once the socket closes. */
  closed(): Promise<number>;
  close(): void;
}

let nextId = 1;

/**
 * Opens a connection and waits for the server's challenge (left in `frames`); `localAddress`
 * binds the client end (127.0.0.2 to come from another loopback source).
 */
export async function openRaw(url: string, localAddress?: string): Promise<RawConnection> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/ws`, localAddress === undefined ? {} : { localAddress });
  const frames: Frame[] = [];
  const waiters: (() => void)[] = [];
  let closeCode: number | undefined;
  const closeWaiters: ((c: number) => void)[] = [];
  ws.on('message', (d) => {
    frames.push(JSON.parse(String(d)) as Frame);
    for (const w of waiters.splice(0)) w();
  });
  ws.on('close', (code) => {
    closeCode = code;
    for (const w of closeWaiters.splice(0)) w(code);
    for (const w of waiters.splice(0)) w();
  });
  ws.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const conn: RawConnection = {
    ws,
    frames,
    async next(pred = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const i = frames.findIndex(pred);
        if (i >= 0) return frames.splice(i, 1)[0] as Frame;
        if (closeCode !== undefined) throw new Error(`socket closed (${closeCode}) while waiting`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching frame; have ${JSON.stringify(frames).slice(0, 400)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, left);
        });
      }
    },
    sendRaw(data, binary = false) {
      ws.send(data, { binary });
    },
    async request(op, args) {
      const id = nextId++;
      ws.send(JSON.stringify({ v: 1, type: 'request', id, op, args }));
      return conn.next((f) => (f.type === 'response' || f.type === 'error') && f.id === id);
    },
    closed() {
      return closeCode !== undefined ? Promise.resolve(closeCode) : new Promise((r) => closeWaiters.push(r));
    },
    close() {
      ws.close();
    },
  };
  // Wait for the challenge without consuming it: tests take it with `challenge(conn)`.
  const challengeFrame = await conn.next((f) => f.type === 'challenge');
  frames.unshift(challengeFrame);
  return conn;
}

/** Takes the newest challenge nonce from the inbox. */
export async function challenge(conn: RawConnection): Promise<Uint8Array> {
  const f = await conn.next((x) => x.type === 'challenge');
  return fromBase64Url('nonce', f.nonce);
}

/** A registered device with an authenticated connection (and its account's identity key). */
export interface RawDevice {
  readonly name: string;
  readonly identity: DeviceIdentityKeyPair;
  readonly conn: RawConnection;
  readonly account: AccountIdentityKeyPair;
  /** This device's id in its account. */
  readonly device: number;
}

/** The register request's args for a fresh account (signing the given nonce). */
export async function registrationArgs(name: string, nonce: Uint8Array, identity?: DeviceIdentityKeyPair) {
  const account = await generateAccountIdentity(provider, random);
  const id = identity ?? (await generateDeviceIdentity(provider, random));
  const idBytes = encodeDeviceIdentityPublic(id.publicIdentity);
  const list = await signDeviceList(provider, account.privateKey, 1, [{ id: 1, identity: idBytes }]);
  const signature = await provider.ed25519Sign(id.signingPrivateKey, authSignedBytes(nonce, name, 0));
  return {
    identity: id,
    account,
    args: {
      name,
      accountKey: toBase64Url(account.publicKey),
      identity: toBase64Url(idBytes),
      deviceList: toBase64Url(encodeSignedDeviceList(list)),
      signature: toBase64Url(signature),
    },
  };
}

/** Registers `name` over a new connection. */
export async function registerRaw(url: string, name: string, localAddress?: string): Promise<RawDevice> {
  const conn = await openRaw(url, localAddress);
  const { identity, account, args } = await registrationArgs(name, await challenge(conn));
  const r = await conn.request('register', args);
  if (r.type !== 'response') throw new Error(`register failed: ${JSON.stringify(r)}`);
  return { name, identity, conn, account, device: 1 };
}

/** Authenticates an existing device (device 1 unless told) over a new connection. */
export async function authRaw(
  url: string,
  name: string,
  identity: DeviceIdentityKeyPair,
  device = 1,
): Promise<RawConnection> {
  const conn = await openRaw(url);
  const nonce = await challenge(conn);
  const signature = await provider.ed25519Sign(identity.signingPrivateKey, authSignedBytes(nonce, name, device));
  const r = await conn.request('auth', { name, device, signature: toBase64Url(signature) });
  if (r.type !== 'response') throw new Error(`auth failed: ${JSON.stringify(r)}`);
  return conn;
}

/**
 * Replaces the account's device list (signed with its account key, sent by `owner`) with
 * `owner`'s device and `others`; answers the server's reply frame.
 */
export async function setDevicesRaw(
  owner: RawDevice,
  version: number,
  others: readonly { device: number; identity: DeviceIdentityKeyPair }[],
) {
  const entry = (id: number, d: DeviceIdentityKeyPair) => ({
    id,
    identity: encodeDeviceIdentityPublic(d.publicIdentity),
  });
  const list = await signDeviceList(provider, owner.account.privateKey, version, [
    entry(owner.device, owner.identity),
    ...others.map((o) => entry(o.device, o.identity)),
  ]);
  return owner.conn.request('update-devices', { deviceList: toBase64Url(encodeSignedDeviceList(list)) });
}

/** Adds a new device `device` to `owner`'s account (list `version`) and authenticates it. */
export async function addDeviceRaw(url: string, owner: RawDevice, device: number, version: number): Promise<RawDevice> {
  const identity = await generateDeviceIdentity(provider, random);
  const r = await setDevicesRaw(owner, version, [{ device, identity }]);
  if (r.type !== 'response') throw new Error(`update-devices failed: ${JSON.stringify(r)}`);
  const conn = await authRaw(url, owner.name, identity, device);
  return { name: owner.name, identity, conn, account: owner.account, device };
}

/** Uploads a signed prekey, `oneTime` one-time X25519 keys, `kem` one-time ML-KEM keys and a last-resort key. */
export async function uploadKeys(d: RawDevice, oneTime: number, kem: number): Promise<Frame> {
  const now = Date.now();
  const spk = await generateSignedPreKey(provider, random, d.identity, 1, now);
  const otps = await generateOneTimePreKeys(provider, random, 1, oneTime);
  const kems = [];
  for (let i = 0; i < kem; i++) kems.push(await generateKemPreKey(provider, random, d.identity, 100 + i, false, now));
  const lr = await generateKemPreKey(provider, random, d.identity, 99, true, now);
  const signed = (k: { id: number; publicKey: Uint8Array; signature: Uint8Array; createdAt: number }) => ({
    id: k.id,
    publicKey: toBase64Url(k.publicKey),
    signature: toBase64Url(k.signature),
    createdAt: Math.floor(k.createdAt / 1000),
  });
  return d.conn.request('upload-keys', {
    signedPreKey: signed(spk),
    oneTimePreKeys: otps.map((k) => ({ id: k.id, publicKey: toBase64Url(k.publicKey) })),
    kemPreKeys: kems.map(signed),
    lastResortKemPreKey: signed(lr),
  });
}

/**
 * Lets `by` list `targets` in its next group commit, as a real adder does (docs/protocol.md
 * §14.3): each target publishes a KeyPackage and `by` fetches its account's packages.
 */
export async function inviteRaw(by: RawDevice, ...targets: RawDevice[]): Promise<void> {
  for (const t of targets) {
    const kp = toBase64Url((await createKeyPackage(t.identity, t.name, t.device)).keyPackage);
    const up = await t.conn.request('upload-key-packages', { keyPackages: [kp] });
    if (up.type !== 'response') throw new Error(`upload-key-packages: ${JSON.stringify(up)}`);
  }
  for (const name of new Set(targets.map((t) => t.name))) {
    const got = await by.conn.request('fetch-key-packages', { name });
    if (got.type !== 'response') throw new Error(`fetch-key-packages: ${JSON.stringify(got)}`);
  }
}

/** A send request's args for one 'ratchet' body to device 1. */
export function sendArgs(to: string, body: Uint8Array, messageId = toBase64Url(random(12))) {
  return { name: to, messageId, messages: [{ device: 1, kind: 'ratchet', body: toBase64Url(body) }] };
}

/** Takes and acknowledges deliveries until the server says the backlog is drained; returns the bodies (base64url). */
export async function drainBacklog(conn: RawConnection): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    const f = await conn.next((x) => x.type === 'deliver' || x.type === 'drained');
    if (f.type === 'drained') return got;
    got.push(toBase64Url(fromBase64Url('body', f.body)));
    conn.sendRaw(JSON.stringify({ v: 1, type: 'ack', seqs: [f.seq] }));
  }
}
