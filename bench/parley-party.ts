/**
 * A Parley device for benchmarks: node:crypto provider and the in-memory stores, which keep
 * encoded records (so every message pays session-record encode/decode, like a real store).
 */
import {
  createMemoryIdentityStore,
  createMemoryPreKeyStore,
  createMemorySessionStore,
  type DeviceIdentityKeyPair,
  decrypt,
  encodeDeviceIdentityPublic,
  encodePreKeyBundle,
  encrypt,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type MemoryPreKeyStore,
  type ProtocolAddress,
  processPreKeyBundle,
  type SessionContext,
} from '@parley/protocol';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';

const provider = createNodeCryptoProvider();

/** Which provider the Parley parties run on (`node+openssl-mlkem` where OpenSSL has ML-KEM). */
export const parleyProviderName = provider.name;
const random = createNodeRandom();

/** A Parley device with memory stores. */
export interface ParleyParty {
  readonly address: ProtocolAddress;
  readonly ctx: SessionContext;
  bundle(): Promise<Uint8Array>;
  startSession(peer: ParleyParty): Promise<void>;
  encrypt(peer: ParleyParty, plaintext: Uint8Array): Promise<Uint8Array>;
  decrypt(peer: ParleyParty, body: Uint8Array): Promise<Uint8Array>;
}

/** Creates a device named `name` with a signed prekey. */
export async function createParleyParty(name: string): Promise<ParleyParty> {
  const identity: DeviceIdentityKeyPair = await generateDeviceIdentity(provider, random);
  const preKeyStore: MemoryPreKeyStore = createMemoryPreKeyStore();
  const spk = await generateSignedPreKey(provider, random, identity, 1, 0);
  preKeyStore.addSignedPreKey(spk);
  const ctx: SessionContext = {
    provider,
    random,
    identityStore: createMemoryIdentityStore(identity),
    preKeyStore,
    sessionStore: createMemorySessionStore(),
  };
  let nextId = 1;
  const party: ParleyParty = {
    address: { account: name, device: 1 },
    ctx,
    async bundle() {
      const id = nextId++;
      const [otp] = await generateOneTimePreKeys(provider, random, id, 1);
      const kem = await generateKemPreKey(provider, random, identity, id, false, 0);
      if (!otp) throw new Error('no one-time prekey');
      preKeyStore.addOneTimePreKey(otp);
      preKeyStore.addKemPreKey(kem);
      return encodePreKeyBundle({
        identity: encodeDeviceIdentityPublic(identity.publicIdentity),
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
      });
    },
    async startSession(peer) {
      await processPreKeyBundle(ctx, peer.address, await peer.bundle(), { now: 0 });
    },
    async encrypt(peer, plaintext) {
      return (await encrypt(ctx, peer.address, plaintext)).body;
    },
    async decrypt(peer, body) {
      return decrypt(ctx, peer.address, body);
    },
  };
  return party;
}
