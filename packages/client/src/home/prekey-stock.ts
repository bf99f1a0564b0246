/**
 * Keeping prekey stock on the server: generate signed, one-time X25519 and ML-KEM prekeys,
 * store the private halves locally first, then upload the public halves. The server answers
 * with its counts and says `keys-low` when fetches drain them; we top up to the targets.
 * The signed prekey rotates weekly; old signed prekeys stay a month for late initial messages.
 */

import {
  type CryptoProvider,
  type DeviceIdentityKeyPair,
  encodeKemPreKeyRecord,
  encodeOneTimePreKeyRecord,
  encodeSignedPreKeyRecord,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type KemPreKeyRecord,
  type KeyCounts,
  type RandomSource,
  type RelayOps,
  toBase64Url,
} from '@parley/protocol';
import type { HomeDatabase } from './database.ts';
import type { ProfileStore } from './profile.ts';

/** How many unused one-time keys of each kind we keep on the server. */
export const STOCK_TARGET = { oneTime: 100, kem: 40 } as const;
const SIGNED_PREKEY_ROTATION_MS = 7 * 24 * 3600 * 1000;
const SIGNED_PREKEYS_KEPT = 4;

type UploadArgs = RelayOps['upload-keys']['args'];

const wireSigned = (k: { id: number; publicKey: Uint8Array; signature: Uint8Array }) => ({
  id: k.id,
  publicKey: toBase64Url(k.publicKey),
  signature: toBase64Url(k.signature),
});

/**
 * Builds an upload that brings the stock to the targets (and a new signed prekey or
 * last-resort key when due), saving every private key before returning.
 */
export async function prepareStock(
  db: HomeDatabase,
  profile: ProfileStore,
  provider: CryptoProvider,
  random: RandomSource,
  identity: DeviceIdentityKeyPair,
  have: KeyCounts,
  now: number,
): Promise<UploadArgs | undefined> {
  const args: UploadArgs = {};
  const spkAt = profile.getNumber('spk_created_at');
  if (spkAt === undefined || now - spkAt > SIGNED_PREKEY_ROTATION_MS) {
    const spk = await generateSignedPreKey(provider, random, identity, profile.takeIds('spk', 1), now);
    db.prepare('INSERT INTO signed_prekeys (id, record) VALUES (?, ?)').run(spk.id, encodeSignedPreKeyRecord(spk));
    // Weekly rotation: the four previous signed prekeys (about a month) stay for late initial messages.
    db.prepare('DELETE FROM signed_prekeys WHERE id < ?').run(spk.id - SIGNED_PREKEYS_KEPT);
    profile.setNumber('spk_created_at', now);
    args.signedPreKey = wireSigned(spk);
  }
  if (profile.getNumber('last_resort_kem') === undefined) {
    const lr = await generateKemPreKey(provider, random, identity, profile.takeIds('kem', 1), true);
    saveKem(db, lr);
    profile.setNumber('last_resort_kem', lr.id);
    args.lastResortKemPreKey = wireSigned(lr);
  }
  const otpCount = Math.max(0, STOCK_TARGET.oneTime - have.oneTime);
  if (otpCount > 0) {
    const keys = await generateOneTimePreKeys(provider, random, profile.takeIds('otp', otpCount), otpCount);
    const put = db.prepare('INSERT INTO one_time_prekeys (id, record) VALUES (?, ?)');
    db.transaction(() => {
      for (const k of keys) put.run(k.id, encodeOneTimePreKeyRecord(k));
    })();
    args.oneTimePreKeys = keys.map((k) => ({ id: k.id, publicKey: toBase64Url(k.publicKey) }));
  }
  const kemCount = Math.max(0, STOCK_TARGET.kem - have.kem);
  if (kemCount > 0) {
    const first = profile.takeIds('kem', kemCount);
    const keys: KemPreKeyRecord[] = [];
    for (let i = 0; i < kemCount; i++) keys.push(await generateKemPreKey(provider, random, identity, first + i, false));
    db.transaction(() => {
      for (const k of keys) saveKem(db, k);
    })();
    args.kemPreKeys = keys.map(wireSigned);
  }
  return Object.keys(args).length === 0 ? undefined : args;
}

function saveKem(db: HomeDatabase, k: KemPreKeyRecord): void {
  db.prepare('INSERT INTO kem_prekeys (id, last_resort, record) VALUES (?, ?, ?)').run(
    k.id,
    k.lastResort ? 1 : 0,
    encodeKemPreKeyRecord(k),
  );
}
