/**
 * Fuzz targets: one per decoder that takes bytes from the network or from disk (docs/reliability.md,
 * "Fuzzing"). Each target has seeds built with the real encoders (and node:crypto randomness) and a
 * `run` that feeds one input to the decoder. A run passes when the decoder returns or throws the
 * project's typed error; any other exception is a finding. Where an encoder exists, a decoded
 * input must re-encode to exactly the same bytes (canonical encoding).
 */
import { randomBytes } from 'node:crypto';
import {
  decodeContent,
  decodeDeviceListContent,
  decodeListStamp,
  decodeReceipt,
  encodeContent,
} from '../packages/client/src/content.ts';
import { openRelayLink, type RelayLink } from '../packages/client/src/relay/relay-link.ts';
import {
  createKeyPackage,
  decodeKeyPackageMessage,
  decodePrivateKeys,
  safeDecode,
} from '../packages/protocol/src/groups/mls.ts';
import {
  decodeAccountIdentityRecord,
  decodeDeviceIdentityRecord,
  decodeFields,
  decodeInitialMessage,
  decodeKemPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodePreKeyBundle,
  decodeSessionRecord,
  decodeSignedDeviceList,
  decodeSignedPreKeyRecord,
  decrypt,
  encodeAccountIdentityRecord,
  encodeDeviceIdentityRecord,
  encodeFields,
  encodeInitialMessage,
  encodeKemPreKeyRecord,
  encodeOneTimePreKeyRecord,
  encodePreKeyBundle,
  encodeSessionRecord,
  encodeSignedDeviceList,
  encodeSignedPreKeyRecord,
  encrypt,
  type FieldSpec,
  generateAccountIdentity,
  isProtocolError,
  peekMessageType,
  processPreKeyBundle,
  signDeviceList,
} from '../packages/protocol/src/index.ts';
import { decodeLinkCode, openLinkPayload, sealLinkPayload } from '../packages/protocol/src/linking/link-channel.ts';
import { decodeRatchetMessage, encodeRatchetMessage } from '../packages/protocol/src/wire/ratchet-message.ts';
import {
  createParty,
  provider,
  random,
  snapshot,
  text,
  wireBundleOf,
} from '../packages/protocol/test/helpers/parties.ts';
import { isServerError } from '../packages/server/src/errors.ts';
import { parseClientFrame } from '../packages/server/src/relay/validate.ts';

export interface Target {
  /** Builds the seed inputs (valid encodings, made with the real encoders). */
  readonly seeds: () => Promise<Uint8Array[]>;
  /** Feeds one input; returns what was decoded (for the output-size bound) or undefined. */
  readonly run: (input: Uint8Array) => unknown;
  /** True for the typed errors this decoder may throw on bad input. */
  readonly typed: (err: unknown) => boolean;
}

/** Thrown when a property other than "typed error or result" fails (e.g. not canonical). */
export class PropertyViolation extends Error {}

const eq = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
function canonical(input: Uint8Array, reencoded: Uint8Array, what: string): void {
  if (!eq(input, reencoded)) throw new PropertyViolation(`${what}: decoded input does not re-encode to the same bytes`);
}

const protocolTyped = (err: unknown): boolean => isProtocolError(err);
const never = (): boolean => false;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const PROTO_SCHEMA: readonly FieldSpec[] = [
  { no: 1, name: 'id', kind: 'uint32' },
  { no: 2, name: 'flag', kind: 'bool' },
  { no: 3, name: 'key', kind: 'bytes', length: 32 },
  { no: 4, name: 'blob', kind: 'bytes', length: [0, 1024] },
  { no: 5, name: 'extra', kind: 'uint32', optional: true },
];
/** JSON texts that are not objects: what a JSON reader must not take for a frame. */
const JSON_EDGES = ['null', '0', '[]', '"x"', 'true', '{}', '{"v":1}'].map(utf8);

/** A conversation between two fresh parties: a bundle, an initial message, ratchet messages, records. */
let conversation:
  | Promise<{ bundle: Uint8Array; initial: Uint8Array; ratchet: Uint8Array[]; records: Uint8Array[] }>
  | undefined;
function converse() {
  conversation ??= (async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    const bundle = await wireBundleOf(bob);
    await processPreKeyBundle(alice.ctx, bob.address, bundle, { now: 0 });
    const initial = (await encrypt(alice.ctx, bob.address, text('hello'))).body;
    await decrypt(bob.ctx, alice.address, initial);
    const ratchet: Uint8Array[] = [];
    for (const s of ['one', 'two']) {
      const m = (await encrypt(bob.ctx, alice.address, text(s))).body;
      await decrypt(alice.ctx, bob.address, m);
      ratchet.push(m);
    }
    ratchet.push((await encrypt(alice.ctx, bob.address, text('three'))).body);
    const records = [...alice.sessionStore.snapshot().values(), ...bob.sessionStore.snapshot().values()];
    return { bundle, initial, ratchet, records };
  })();
  return conversation;
}

const content = (): Uint8Array[] => {
  const stamp = { dlv: 3, dlh: Buffer.from(randomBytes(32)).toString('base64url') };
  return [
    encodeContent({ v: 1, id: 'abcdefgh12', ts: 1700000000000, text: 'hello', ...stamp }),
    encodeContent({ v: 1, id: 'abcdefgh13', ts: 1700000000001, text: 'to me', to: 'alice', ...stamp }),
    encodeContent({ v: 1, id: 'abcdefgh14', ts: 1700000000002, receipt: 'read', ids: ['abcdefgh12'], ...stamp }),
    encodeContent({ v: 1, id: 'abcdefgh15', ts: 1700000000003, deviceList: 'AAAA', ...stamp }),
    ...JSON_EDGES,
  ] as Uint8Array[];
};

export const TARGETS: Record<string, Target> = {
  /** Relay frames the server reads from a client (JSON text over the WebSocket). */
  'relay-client-frame': {
    seeds: async () =>
      [
        { v: 1, type: 'request', id: 1, op: 'send', args: { to: 'bob', messages: [] } },
        { v: 1, type: 'ack', seqs: [1, 2, 3] },
        { v: 1, type: 'request', id: 7, op: 'fetchPreKeys', args: { account: 'bob' } },
      ]
        .map((f) => utf8(JSON.stringify(f)))
        .concat(JSON_EDGES),
    run: (input) => {
      const parsed = parseClientFrame(Buffer.from(input).toString('utf8'), 100);
      if (!parsed.ok && !isServerError(parsed.error)) throw new PropertyViolation('refusal is not a ServerError');
      return parsed;
    },
    typed: never, // parseClientFrame returns its refusals; it must never throw
  },
  /**
   * Relay frames the client reads from the server: fed to a relay link's message listener on a
   * stand-in socket. A throw there would be an uncaught exception in the WebSocket's event handler.
   */
  'relay-server-frame': {
    seeds: async () =>
      [
        { v: 1, type: 'challenge', nonce: Buffer.from(randomBytes(32)).toString('base64url') },
        { v: 1, type: 'response', id: 1, result: { ok: true } },
        { v: 1, type: 'error', id: 2, code: 'RATE_LIMITED', message: 'slow down', details: { retryAfterMs: 10 } },
        { v: 1, type: 'deliver', seq: 4, from: 'bob', fromDevice: 1, kind: 'ratchet', body: 'AAEC' },
        { v: 1, type: 'error', code: 'HANDSHAKE_TIMEOUT', message: 'late' },
      ]
        .map((f) => utf8(JSON.stringify(f)))
        .concat(JSON_EDGES),
    run: (input) => {
      relaySocket().deliver(Buffer.from(input).toString('utf8'));
      return undefined;
    },
    typed: never, // the listener must swallow what it cannot use
  },
  /** The protobuf field codec under every wire message, with a schema using every field kind. */
  'wire-proto': {
    seeds: async () => [
      encodeFields({ id: 7, flag: true, key: randomBytes(32), blob: randomBytes(40), extra: 1 }, PROTO_SCHEMA, 'Fuzz'),
      encodeFields({ id: 0, flag: false, key: randomBytes(32), blob: new Uint8Array(0) }, PROTO_SCHEMA, 'Fuzz'),
    ],
    run: (input) => {
      const v = decodeFields(input, PROTO_SCHEMA, 'Fuzz');
      canonical(input, encodeFields(v, PROTO_SCHEMA, 'Fuzz'), 'protobuf fields');
      return v;
    },
    typed: protocolTyped,
  },
  /** The wire envelope every protocol message starts with. */
  'wire-envelope': {
    seeds: async () => {
      const c = await converse();
      return [c.bundle, c.initial, ...c.ratchet];
    },
    run: (input) => peekMessageType(input),
    typed: protocolTyped,
  },
  'prekey-bundle': {
    seeds: async () => [(await converse()).bundle],
    run: (input) => {
      const b = decodePreKeyBundle(input);
      canonical(input, encodePreKeyBundle(b), 'prekey bundle');
      return b;
    },
    typed: protocolTyped,
  },
  'device-list': {
    seeds: async () => {
      const account = await generateAccountIdentity(provider, random);
      const out: Uint8Array[] = [];
      for (const n of [1, 3]) {
        const devices = Array.from({ length: n }, (_, i) => ({
          id: i + 1,
          identity: randomBytes(128) as Uint8Array,
        }));
        out.push(encodeSignedDeviceList(await signDeviceList(provider, account.privateKey, n, devices)));
      }
      return out;
    },
    run: (input) => {
      const l = decodeSignedDeviceList(input);
      canonical(input, encodeSignedDeviceList(l), 'device list');
      return l;
    },
    typed: protocolTyped,
  },
  'initial-message': {
    seeds: async () => [(await converse()).initial],
    run: (input) => {
      const m = decodeInitialMessage(input);
      canonical(input, encodeInitialMessage(m), 'initial message');
      return m;
    },
    typed: protocolTyped,
  },
  'ratchet-message': {
    seeds: async () => (await converse()).ratchet,
    run: (input) => {
      const m = decodeRatchetMessage(input);
      canonical(input, encodeRatchetMessage(m), 'ratchet message');
      return m;
    },
    typed: protocolTyped,
  },
  /** Decrypted content (client): every decoder answers undefined/'malformed' for bad input, never throws. */
  content: {
    seeds: async () => content(),
    run: (input) => [
      decodeContent(input),
      decodeReceipt(input),
      decodeDeviceListContent(input),
      decodeListStamp(input),
    ],
    typed: never,
  },
  'link-code': {
    seeds: async () => [randomBytes(32) as Uint8Array],
    run: (input) => decodeLinkCode(input),
    typed: protocolTyped,
  },
  /** The sealed payload a new device opens from the link channel (AES-GCM under the code). */
  'link-payload': {
    seeds: async () => {
      const l = await linkFixture();
      return [l.sealed];
    },
    run: async (input) => {
      const l = await linkFixture();
      return openLinkPayload(provider, l.code, l.party.identity, l.identity, input);
    },
    typed: protocolTyped,
  },
  /** MLS messages (KeyPackages from the directory, group messages through the relay). */
  'mls-message': {
    seeds: async () => {
      const party = await createParty('carol');
      const kp = await createKeyPackage(party.identity, 'carol', 1);
      return [kp.keyPackage];
    },
    run: (input) => {
      safeDecode(input);
      return decodeKeyPackageMessage(input);
    },
    typed: protocolTyped,
  },
  /**
   * Rejects ⇒ state unchanged: mutated messages go to `decrypt` on a device with a live session;
   * a rejected message must leave every store of that device byte-identical.
   */
  'session-decrypt': {
    seeds: async () => (await decryptFixture()).messages,
    run: async (input) => {
      const f = await decryptFixture();
      const before = JSON.stringify(snapshot(f.bob));
      try {
        return await decrypt(f.bob.ctx, f.alice.address, input);
      } catch (err) {
        if (isProtocolError(err) && JSON.stringify(snapshot(f.bob)) !== before) {
          throw new PropertyViolation(`decrypt rejected (${err.code}) but changed the receiver's stores`);
        }
        throw err;
      }
    },
    typed: protocolTyped,
  },
  /** Stored records: session state (with ratchet chains and skipped keys) and key records. */
  'session-record': {
    seeds: async () => (await converse()).records,
    run: (input) => {
      const r = decodeSessionRecord(input);
      canonical(input, encodeSessionRecord(r), 'session record');
      return r;
    },
    typed: protocolTyped,
  },
  'key-records': {
    seeds: async () => {
      const party = await createParty('dave');
      const account = await generateAccountIdentity(provider, random);
      const spk = await party.preKeyStore.getSignedPreKey(1);
      const kem = await party.preKeyStore.getKemPreKey(1000);
      const out = [encodeAccountIdentityRecord(account), encodeDeviceIdentityRecord(party.identity)];
      if (spk) out.push(encodeSignedPreKeyRecord(spk));
      if (kem) out.push(encodeKemPreKeyRecord(kem));
      out.push(
        encodeOneTimePreKeyRecord({ version: 1, id: 5, publicKey: randomBytes(32), privateKey: randomBytes(32) }),
      );
      out.push(Uint8Array.of(1, ...randomBytes(64)));
      return out;
    },
    run: (input) => {
      const out: unknown[] = [];
      const decoders = [
        [decodeAccountIdentityRecord, encodeAccountIdentityRecord],
        [decodeDeviceIdentityRecord, encodeDeviceIdentityRecord],
        [decodeSignedPreKeyRecord, encodeSignedPreKeyRecord],
        [decodeOneTimePreKeyRecord, encodeOneTimePreKeyRecord],
        [decodeKemPreKeyRecord, encodeKemPreKeyRecord],
      ] as unknown as [(b: Uint8Array) => unknown, (r: unknown) => Uint8Array][];
      for (const [decode, encode] of decoders) {
        try {
          const r = decode(input);
          const again = encode(r);
          // A KEM prekey record from before prekeys were dated (8 bytes shorter, no creation
          // time) is still read, and written back in the dated form: not a second encoding of one value.
          const legacyKem = decode === (decodeKemPreKeyRecord as unknown) && again.length === input.length + 8;
          if (!legacyKem) canonical(input, again, decode.name);
          out.push(r);
        } catch (err) {
          if (!isProtocolError(err)) throw err;
        }
      }
      try {
        out.push(decodePrivateKeys(input, new Uint8Array(32)));
      } catch (err) {
        if (!isProtocolError(err)) throw err;
      }
      return out;
    },
    typed: protocolTyped,
  },
};

let link:
  | Promise<{
      code: { channel: Uint8Array; secret: Uint8Array };
      party: Awaited<ReturnType<typeof createParty>>;
      identity: Uint8Array;
      sealed: Uint8Array;
    }>
  | undefined;
function linkFixture() {
  link ??= (async () => {
    const { encodeDeviceIdentityPublic } = await import('../packages/protocol/src/index.ts');
    const party = await createParty('erin');
    const code = decodeLinkCode(randomBytes(32));
    const identity = encodeDeviceIdentityPublic(party.identity.publicIdentity);
    const sealed = await sealLinkPayload(provider, random, code, identity, text('{"account":"erin"}'));
    return { code, party, identity, sealed };
  })();
  return link;
}

let socket: { deliver(data: string): void; link?: RelayLink } | undefined;
/** One relay link on a stand-in socket that never closes; `closeFuzzResources` closes it. */
function relaySocket(): { deliver(data: string): void } {
  if (socket) return socket;
  let listener: ((e: { data: unknown }) => void) | undefined;
  const s: { deliver(data: string): void; link?: RelayLink } = {
    deliver: (data) => listener?.({ data }),
  };
  socket = s;
  openRelayLink({
    url: 'http://127.0.0.1:1',
    handshake: () => new Promise(() => {}),
    onFrame: () => {},
    onState: () => {},
    onLink: (link) => {
      s.link = link;
    },
    connectTimeoutMs: 2 ** 30,
    openWebSocket: () => ({
      readyState: 1,
      send: () => {},
      close: () => {},
      addEventListener: (type: string, l: unknown) => {
        if (type === 'message') listener = l as (e: { data: unknown }) => void;
      },
    }),
  }).catch(() => {});
  return s;
}

/** Closes what the targets opened (the relay link), so a test process can end. */
export function closeFuzzResources(): void {
  socket?.link?.close();
}

let decryptSetup:
  | Promise<{
      alice: Awaited<ReturnType<typeof createParty>>;
      bob: Awaited<ReturnType<typeof createParty>>;
      messages: Uint8Array[];
    }>
  | undefined;
/** Alice and Bob with a session both ways, and messages from Alice that Bob has not read yet. */
function decryptFixture() {
  decryptSetup ??= (async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    await processPreKeyBundle(alice.ctx, bob.address, await wireBundleOf(bob), { now: 0 });
    const initial = (await encrypt(alice.ctx, bob.address, text('hello'))).body;
    await decrypt(bob.ctx, alice.address, initial);
    await decrypt(alice.ctx, bob.address, (await encrypt(bob.ctx, alice.address, text('hi'))).body);
    const messages = [initial];
    for (const s of ['one', 'two', 'three']) messages.push((await encrypt(alice.ctx, bob.address, text(s))).body);
    return { alice, bob, messages };
  })();
  return decryptSetup;
}
