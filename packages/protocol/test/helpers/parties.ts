/**
 * Test parties: a device with memory stores, a published bundle, and helpers to snapshot every
 * store byte for "failure leaves stores unchanged" checks.
 */
import {
  type CryptoProvider,
  createMemoryIdentityStore,
  createMemoryPreKeyStore,
  createMemorySessionStore,
  type DeviceIdentityKeyPair,
  encodeDeviceIdentityPublic,
  encodePreKeyBundle,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type MemoryIdentityStore,
  type MemoryPreKeyStore,
  type MemorySessionStore,
  type PreKeyBundle,
  type ProtocolAddress,
  type RandomSource,
  type SessionContext,
} from '../../src/index.ts';
import { createNodeCryptoProvider, createNodeRandom } from '../../src/node.ts';

export const provider: CryptoProvider = createNodeCryptoProvider();
export const random: RandomSource = createNodeRandom();

export interface Party {
  readonly name: string;
  readonly address: ProtocolAddress;
  readonly identity: DeviceIdentityKeyPair;
  readonly identityStore: MemoryIdentityStore;
  readonly preKeyStore: MemoryPreKeyStore;
  readonly sessionStore: MemorySessionStore;
  readonly ctx: SessionContext;
  nextOneTimeId: number;
  nextKemId: number;
}

/** Creates a device with a signed prekey (id 1) and a last-resort KEM prekey (id 1000). */
export async function createParty(name: string, device = 1, p: CryptoProvider = provider): Promise<Party> {
  const identity = await generateDeviceIdentity(p, random);
  const identityStore = createMemoryIdentityStore(identity);
  const preKeyStore = createMemoryPreKeyStore();
  const sessionStore = createMemorySessionStore();
  preKeyStore.addSignedPreKey(await generateSignedPreKey(p, random, identity, 1, 0));
  preKeyStore.addKemPreKey(await generateKemPreKey(p, random, identity, 1000, true, 0));
  return {
    name,
    address: { account: name, device },
    identity,
    identityStore,
    preKeyStore,
    sessionStore,
    ctx: { provider: p, random, identityStore, preKeyStore, sessionStore },
    nextOneTimeId: 1,
    nextKemId: 1,
  };
}

/** Publishes a fresh bundle: with one-time X25519 and KEM prekeys unless `lastResort` is set. */
export async function bundleOf(party: Party, opts: { lastResort?: boolean } = {}): Promise<PreKeyBundle> {
  const p = party.ctx.provider;
  const spk = await party.preKeyStore.getSignedPreKey(1);
  if (!spk) throw new Error('no signed prekey');
  const identity = encodeDeviceIdentityPublic(party.identity.publicIdentity);
  if (opts.lastResort) {
    const kem = await party.preKeyStore.getKemPreKey(1000);
    if (!kem) throw new Error('no last resort');
    return {
      identity,
      signedPreKey: {
        id: spk.id,
        publicKey: spk.publicKey,
        signature: spk.signature,
        createdAt: Math.floor(spk.createdAt / 1000),
      },
      kemPreKey: {
        id: kem.id,
        publicKey: kem.publicKey,
        signature: kem.signature,
        lastResort: true,
        createdAt: Math.floor(kem.createdAt / 1000),
      },
    };
  }
  const [otp] = await generateOneTimePreKeys(p, random, party.nextOneTimeId++, 1);
  const kem = await generateKemPreKey(p, random, party.identity, party.nextKemId++, false, 0);
  if (!otp) throw new Error('no otp');
  party.preKeyStore.addOneTimePreKey(otp);
  party.preKeyStore.addKemPreKey(kem);
  return {
    identity,
    signedPreKey: {
      id: spk.id,
      publicKey: spk.publicKey,
      signature: spk.signature,
      createdAt: Math.floor(spk.createdAt / 1000),
    },
    oneTimePreKey: { id: otp.id, publicKey: otp.publicKey },
    kemPreKey: {
      id: kem.id,
      publicKey: kem.publicKey,
      signature: kem.signature,
      lastResort: false,
      createdAt: Math.floor(kem.createdAt / 1000),
    },
  };
}

/** Round-trips the bundle through its wire encoding, as a real directory would. */
export async function wireBundleOf(party: Party, opts: { lastResort?: boolean } = {}): Promise<Uint8Array> {
  return encodePreKeyBundle(await bundleOf(party, opts));
}

/** Every byte in every store of a party, for before/after comparisons. */
export function snapshot(party: Party): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [prefix, map] of [
    ['id', party.identityStore.snapshot()],
    ['pk', party.preKeyStore.snapshot()],
    ['s', party.sessionStore.snapshot()],
  ] as const) {
    for (const [k, v] of map) out[`${prefix}:${k}`] = Buffer.from(v).toString('hex');
  }
  return out;
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
export const str = (b: Uint8Array): string => new TextDecoder().decode(b);
