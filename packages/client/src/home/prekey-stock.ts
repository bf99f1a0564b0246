/**
 * Keeping prekey stock on the server: generate signed, one-time X25519 and ML-KEM prekeys,
 * store the private halves locally first, then upload the public halves. The server answers
 * with its counts and says `keys-low` when fetches drain them; we top up to the targets.
 * The signed prekey and the last-resort ML-KEM prekey rotate every 2 days; a replaced one's
 * private half is deleted after a grace period (`PREKEY_ROTATION`).
 */

import {
  type CryptoProvider,
  type DeviceIdentityKeyPair,
  decodeKemPreKeyRecord,
  decodeSignedPreKeyRecord,
  encodeKemPreKeyRecord,
  encodeOneTimePreKeyRecord,
  encodeSignedPreKeyRecord,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type KemPreKeyRecord,
  type KeyCounts,
  MAX_PREKEY_AGE_MS,
  preKeySeconds,
  type RandomSource,
  type RelayOps,
  toBase64Url,
} from '@parley/protocol';
import { blob, type HomeDatabase } from './database.ts';
import type { ProfileStore } from './profile.ts';

/** How many unused one-time keys of each kind we keep on the server. */
export const STOCK_TARGET = { oneTime: 100, kem: 40 } as const;

/**
 * When the signed prekey and the last-resort ML-KEM prekey are replaced, and how long a replaced
 * one's private half is kept (docs/protocol.md §1.1). Every `rotateEveryMs` (2 days) a device that
 * connects signs new ones; a replaced key stays `graceMs` (14 days: as long as an initiator may
 * use a key after its creation, `MAX_PREKEY_AGE_MS`) for initial messages made from a bundle
 * fetched before the replacement, then its private half is deleted. A copy of the home taken
 * before a rotation therefore holds no key of any bundle served after it.
 */
export const PREKEY_ROTATION = { rotateEveryMs: 2 * 24 * 3600 * 1000, graceMs: MAX_PREKEY_AGE_MS } as const;

/**
 * Profile value saying the home's signed keys carry signed creation times; a home without it
 * (made before they did) rotates both at once, since servers drop undated signatures.
 */
const DATED_KEYS = 2;

type UploadArgs = RelayOps['upload-keys']['args'];

const wireSigned = (k: { id: number; publicKey: Uint8Array; signature: Uint8Array; createdAt: number }) => ({
  id: k.id,
  publicKey: toBase64Url(k.publicKey),
  signature: toBase64Url(k.signature),
  createdAt: preKeySeconds(k.createdAt),
});

/** An upload to make, and what to record once the server has taken it. */
export interface StockUpload {
  readonly args: UploadArgs;
  /**
   * Records the rotation as done: called after the server stored the upload, so an upload lost on
   * the way is made again (with new keys) on the next refill rather than counted as published.
   */
  published(): void;
}

/**
 * Builds an upload that brings the stock to the targets (and a new signed prekey and last-resort
 * ML-KEM prekey when due), saving every private key before returning, and deletes the private
 * halves of signed and last-resort keys replaced more than `PREKEY_ROTATION.graceMs` ago.
 */
export async function prepareStock(
  db: HomeDatabase,
  profile: ProfileStore,
  provider: CryptoProvider,
  random: RandomSource,
  identity: DeviceIdentityKeyPair,
  have: KeyCounts,
  now: number,
): Promise<StockUpload | undefined> {
  const args: UploadArgs = {};
  const done: (() => void)[] = [];
  const undated = profile.getNumber('prekey_format') !== DATED_KEYS;
  const due = (at: number | undefined) => undated || at === undefined || now - at >= PREKEY_ROTATION.rotateEveryMs;
  if (due(profile.getNumber('spk_created_at'))) {
    const spk = await generateSignedPreKey(provider, random, identity, profile.takeIds('spk', 1), now);
    db.prepare('INSERT INTO signed_prekeys (id, record) VALUES (?, ?)').run(spk.id, encodeSignedPreKeyRecord(spk));
    done.push(() => profile.setNumber('spk_created_at', now));
    args.signedPreKey = wireSigned(spk);
  }
  if (profile.getNumber('last_resort_kem') === undefined || due(profile.getNumber('last_resort_kem_created_at'))) {
    const lr = await generateKemPreKey(provider, random, identity, profile.takeIds('kem', 1), true, now);
    saveKem(db, lr);
    done.push(() => {
      profile.setNumber('last_resort_kem', lr.id);
      profile.setNumber('last_resort_kem_created_at', now);
    });
    args.lastResortKemPreKey = wireSigned(lr);
  }
  if (undated) done.push(() => profile.setNumber('prekey_format', DATED_KEYS));
  deleteReplaced(db, now);
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
    for (let i = 0; i < kemCount; i++) {
      keys.push(await generateKemPreKey(provider, random, identity, first + i, false, now));
    }
    db.transaction(() => {
      for (const k of keys) saveKem(db, k);
    })();
    args.kemPreKeys = keys.map(wireSigned);
  }
  if (Object.keys(args).length === 0) return undefined;
  return {
    args,
    published() {
      for (const f of done) f();
    },
  };
}

/**
 * Deletes each signed prekey and last-resort ML-KEM prekey whose successor (the next one by id)
 * was created more than the grace period before `now`. Ids grow with each rotation.
 */
function deleteReplaced(db: HomeDatabase, now: number): void {
  const cutoff = now - PREKEY_ROTATION.graceMs;
  const signed = db.prepare('SELECT id, record FROM signed_prekeys ORDER BY id').all() as Keyed[];
  const spkCreated = signed.map((r) => decodeSignedPreKeyRecord(blob(r.record)).createdAt);
  const dropSpk = db.prepare('DELETE FROM signed_prekeys WHERE id = ?');
  const lastResort = db
    .prepare('SELECT id, record FROM kem_prekeys WHERE last_resort = 1 ORDER BY id')
    .all() as Keyed[];
  const lrCreated = lastResort.map((r) => decodeKemPreKeyRecord(blob(r.record)).createdAt);
  const dropKem = db.prepare('DELETE FROM kem_prekeys WHERE id = ?');
  db.transaction(() => {
    for (let i = 0; i + 1 < signed.length; i++) {
      if ((spkCreated[i + 1] as number) <= cutoff) dropSpk.run((signed[i] as Keyed).id);
    }
    for (let i = 0; i + 1 < lastResort.length; i++) {
      if ((lrCreated[i + 1] as number) <= cutoff) dropKem.run((lastResort[i] as Keyed).id);
    }
  })();
}

interface Keyed {
  readonly id: number;
  readonly record: Uint8Array;
}

function saveKem(db: HomeDatabase, k: KemPreKeyRecord): void {
  db.prepare('INSERT INTO kem_prekeys (id, last_resort, record) VALUES (?, ?, ?)').run(
    k.id,
    k.lastResort ? 1 : 0,
    encodeKemPreKeyRecord(k),
  );
}
