/**
 * Known answers for PQXDH (docs/protocol.md §2, PQXDH §3.3): from fixed device identities,
 * prekeys and initiator randomness, the shared secret SK, the associated data, the first ratchet
 * keys and the initial message — once with a one-time X25519 prekey and a one-time KEM prekey,
 * once with neither (the last-resort KEM prekey).
 */
import {
  type CryptoProvider,
  concatBytes,
  createMemoryIdentityStore,
  createMemoryPreKeyStore,
  createMemorySessionStore,
  type DeviceIdentityKeyPair,
  encodeDeviceIdentityPublic,
  encrypt,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type KemPreKeyRecord,
  type MemoryPreKeyStore,
  type MemorySessionStore,
  type OneTimePreKeyRecord,
  type PreKeyBundle,
  processPreKeyBundle,
  type SessionContext,
  type SignedPreKeyRecord,
  utf8,
} from '../../src/index.ts';
import { kdfRootKey } from '../../src/ratchet/kdf.ts';
import {
  type DeviceSeeds,
  deviceFrom,
  type FixedRandom,
  fixedBytes,
  fixedRandom,
  fromHex,
  type Hex,
  makeDeviceSeeds,
  toHex,
  withDraws,
} from './kit.ts';

export const about =
  'PQXDH shared secret, associated data and initial message from fixed keys and randomness (docs/protocol.md §2).';

/** The initiator's three draws in `initiate`: EK_A, the encapsulation randomness, its first ratchet key. */
export interface InitiatorDraws {
  readonly ephemeral: Hex;
  readonly kemRandomness: Hex;
  readonly ratchetKey: Hex;
}

export interface PqxdhInputs {
  readonly alice: DeviceSeeds;
  readonly bob: DeviceSeeds;
  readonly signedPreKey: { readonly id: number; readonly privateKey: Hex; readonly createdAt: number };
  readonly oneTimePreKey: { readonly id: number; readonly privateKey: Hex };
  readonly kemPreKey: { readonly id: number; readonly seed: Hex };
  readonly lastResortKemPreKey: { readonly id: number; readonly seed: Hex };
  readonly plaintext: string;
  /** `oneTime`: the bundle has a one-time X25519 and a one-time KEM prekey; `lastResort`: neither. */
  readonly variants: { readonly oneTime: InitiatorDraws; readonly lastResort: InitiatorDraws };
}

export type Variant = keyof PqxdhInputs['variants'];
export const VARIANTS: readonly Variant[] = ['oneTime', 'lastResort'];

function makeDraws(label: string): InitiatorDraws {
  return {
    ephemeral: fixedBytes(`${label}/ephemeral`, 32),
    kemRandomness: fixedBytes(`${label}/kem-randomness`, 32),
    ratchetKey: fixedBytes(`${label}/ratchet-key`, 32),
  };
}

export function makeInputs(): PqxdhInputs {
  return {
    alice: makeDeviceSeeds('pqxdh/alice'),
    bob: makeDeviceSeeds('pqxdh/bob'),
    signedPreKey: { id: 1, privateKey: fixedBytes('pqxdh/bob/signed-prekey', 32), createdAt: 1767225600000 },
    oneTimePreKey: { id: 11, privateKey: fixedBytes('pqxdh/bob/one-time-prekey', 32) },
    kemPreKey: { id: 21, seed: fixedBytes('pqxdh/bob/kem-prekey', 64) },
    lastResortKemPreKey: { id: 1000, seed: fixedBytes('pqxdh/bob/last-resort-kem-prekey', 64) },
    plaintext: 'Hello Bob: a PQXDH known answer',
    variants: { oneTime: makeDraws('pqxdh/one-time'), lastResort: makeDraws('pqxdh/last-resort') },
  };
}

/** Bob's device and private prekeys, generated from the fixed inputs. */
export interface Responder {
  readonly identity: DeviceIdentityKeyPair;
  readonly signedPreKey: SignedPreKeyRecord;
  readonly oneTimePreKey: OneTimePreKeyRecord;
  readonly kemPreKey: KemPreKeyRecord;
  readonly lastResortKemPreKey: KemPreKeyRecord;
}

/** The inputs that make Bob's keys (shared with session.vectors.ts). */
export type ResponderInputs = Pick<
  PqxdhInputs,
  'bob' | 'signedPreKey' | 'oneTimePreKey' | 'kemPreKey' | 'lastResortKemPreKey'
>;

export async function responder(provider: CryptoProvider, inputs: ResponderInputs): Promise<Responder> {
  const identity = await deviceFrom(provider, inputs.bob);
  const { id, privateKey, createdAt } = inputs.signedPreKey;
  const one = inputs.oneTimePreKey;
  const kem = inputs.kemPreKey;
  const last = inputs.lastResortKemPreKey;
  const [oneTimePreKey] = await withDraws([one.privateKey], (r) => generateOneTimePreKeys(provider, r, one.id, 1));
  if (oneTimePreKey === undefined) throw new Error('no one-time prekey');
  return {
    identity,
    signedPreKey: await withDraws([privateKey], (r) => generateSignedPreKey(provider, r, identity, id, createdAt)),
    oneTimePreKey,
    kemPreKey: await withDraws([kem.seed], (r) => generateKemPreKey(provider, r, identity, kem.id, false, createdAt)),
    lastResortKemPreKey: await withDraws([last.seed], (r) =>
      generateKemPreKey(provider, r, identity, last.id, true, createdAt),
    ),
  };
}

/** A prekey store holding Bob's prekeys. */
export function responderPreKeyStore(bob: Responder): MemoryPreKeyStore {
  const store = createMemoryPreKeyStore();
  store.addSignedPreKey(bob.signedPreKey);
  store.addOneTimePreKey(bob.oneTimePreKey);
  store.addKemPreKey(bob.kemPreKey);
  store.addKemPreKey(bob.lastResortKemPreKey);
  return store;
}

/** The bundle Bob's directory entry serves in `variant`. */
export function bundleOf(bob: Responder, variant: Variant): PreKeyBundle {
  const spk = bob.signedPreKey;
  const kem = variant === 'oneTime' ? bob.kemPreKey : bob.lastResortKemPreKey;
  return {
    identity: encodeDeviceIdentityPublic(bob.identity.publicIdentity),
    signedPreKey: {
      id: spk.id,
      publicKey: spk.publicKey,
      signature: spk.signature,
      createdAt: Math.floor(spk.createdAt / 1000),
    },
    oneTimePreKey:
      variant === 'oneTime' ? { id: bob.oneTimePreKey.id, publicKey: bob.oneTimePreKey.publicKey } : undefined,
    kemPreKey: {
      id: kem.id,
      publicKey: kem.publicKey,
      signature: kem.signature,
      lastResort: kem.lastResort,
      createdAt: Math.floor(kem.createdAt / 1000),
    },
  };
}

/** A session context for a device with empty stores, drawing from `draws`. */
export function contextOf(
  provider: CryptoProvider,
  identity: DeviceIdentityKeyPair,
  draws: readonly Hex[],
  preKeyStore: MemoryPreKeyStore = createMemoryPreKeyStore(),
): SessionContext & { readonly random: FixedRandom; readonly sessionStore: MemorySessionStore } {
  return {
    provider,
    random: fixedRandom(draws),
    identityStore: createMemoryIdentityStore(identity),
    preKeyStore,
    sessionStore: createMemorySessionStore(),
  };
}

export const ALICE = { account: 'alice', device: 1 } as const;
export const BOB = { account: 'bob', device: 1 } as const;

const INFO = utf8('Parley_PQXDH_X25519_SHA-256_ML-KEM-1024');
const F = new Uint8Array(32).fill(0xff);

/**
 * SK of PQXDH §3.3 computed here from its parts, beside the code's own path (the session
 * state `initiate` made): KDF(F ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] ‖ SS), HKDF-SHA-256 with a zero salt.
 */
async function sharedSecretOf(
  provider: CryptoProvider,
  alice: DeviceIdentityKeyPair,
  bob: Responder,
  variant: Variant,
  draws: InitiatorDraws,
): Promise<{ sk: Uint8Array; ciphertext: Uint8Array; ss: Uint8Array }> {
  const bundle = bundleOf(bob, variant);
  const ek = fromHex(draws.ephemeral);
  const spk = bundle.signedPreKey.publicKey;
  const kem = await provider.mlKemEncapsulate(bundle.kemPreKey!.publicKey, fromHex(draws.kemRandomness));
  const dhs = [
    await provider.x25519(alice.dhPrivateKey, spk),
    await provider.x25519(ek, bob.identity.publicIdentity.dhKey),
    await provider.x25519(ek, spk),
  ];
  if (bundle.oneTimePreKey !== undefined) dhs.push(await provider.x25519(ek, bundle.oneTimePreKey.publicKey));
  const sk = await provider.hkdfSha256(concatBytes(F, ...dhs, kem.sharedSecret), new Uint8Array(32), INFO, 32);
  return { sk, ciphertext: kem.ciphertext, ss: kem.sharedSecret };
}

/**
 * For each variant: SK, the KEM ciphertext and secret, the session's associated data and first
 * root and sending chain keys (made by `processPreKeyBundle`), and the initial message carrying
 * `plaintext` (made by `encrypt`). Throws if the session's first keys are not KDF_RK of the SK
 * recomputed here.
 */
export async function build(provider: CryptoProvider, inputs: PqxdhInputs): Promise<Record<string, string>> {
  const alice = await deviceFrom(provider, inputs.alice);
  const bob = await responder(provider, inputs);
  const out: Record<string, string> = {};
  for (const variant of VARIANTS) {
    const draws = inputs.variants[variant];
    const ctx = contextOf(provider, alice, [draws.ephemeral, draws.kemRandomness, draws.ratchetKey]);
    await processPreKeyBundle(ctx, BOB, bundleOf(bob, variant), { now: inputs.signedPreKey.createdAt });
    const state = (await ctx.sessionStore.loadSession(BOB))?.current;
    if (state === undefined || state.sendingChain === undefined) throw new Error('no session');
    const message = await encrypt(ctx, BOB, utf8(inputs.plaintext));
    if (ctx.random.left() !== 0 || message.type !== 'initial') throw new Error('unexpected draws or message type');

    const { sk, ciphertext, ss } = await sharedSecretOf(provider, alice, bob, variant, draws);
    const dh = await provider.x25519(fromHex(draws.ratchetKey), bob.signedPreKey.publicKey);
    const first = await kdfRootKey(provider, sk, dh);
    if (toHex(first.rootKey) !== toHex(state.rootKey) || toHex(first.chainKey) !== toHex(state.sendingChain.chainKey)) {
      throw new Error('the session did not start from KDF_RK(SK, DH(ratchet key, signed prekey))');
    }

    out[`${variant}.sharedSecret`] = toHex(sk);
    out[`${variant}.kemCiphertext`] = toHex(ciphertext);
    out[`${variant}.kemSharedSecret`] = toHex(ss);
    out[`${variant}.associatedData`] = toHex(state.associatedData);
    out[`${variant}.rootKey`] = toHex(state.rootKey);
    out[`${variant}.sendingChainKey`] = toHex(state.sendingChain.chainKey);
    out[`${variant}.initialMessage`] = toHex(message.body);
  }
  return out;
}
