/**
 * Searching bytes the server holds or sends for things it must never have: message plaintext
 * and private keys.
 */
import { join } from 'node:path';
import { HOME_DB_FILE } from '@parley/client';
import {
  decodeAccountIdentityRecord,
  decodeDeviceIdentityRecord,
  decodeKemPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodeSignedPreKeyRecord,
  fromBase64Url,
  utf8,
} from '@parley/protocol';
import { decodeGroupRecord, groupClientConfig } from '@parley/protocol/groups';
import { createNodeCryptoProvider } from '@parley/protocol/node';
import Database from 'better-sqlite3';

/** True when `needle` occurs in `haystack`. */
export function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(Buffer.from(needle)) >= 0;
}

/** Every string in a JSON value. */
export function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (typeof value === 'object' && value !== null) for (const v of Object.values(value)) strings(v, out);
  return out;
}

/** The frame text and every base64url field decoded: the server's traffic as bytes it could read. */
export function trafficViews(frames: readonly { data: string }[]): Uint8Array[] {
  const views: Uint8Array[] = [];
  for (const f of frames) {
    views.push(utf8(f.data));
    for (const s of strings(JSON.parse(f.data))) {
      try {
        views.push(fromBase64Url('field', s));
      } catch {
        // not base64url: already covered by the raw text
      }
    }
  }
  return views;
}

/**
 * The private keys a client's home holds: identity, account, prekeys, MLS KeyPackage private
 * keys, and each group's current epoch secrets and private tree keys.
 */
export function privateKeysOf(home: string): Uint8Array[] {
  const db = new Database(join(home, HOME_DB_FILE), { readonly: true });
  const get = (k: string) =>
    new Uint8Array((db.prepare('SELECT value FROM profile WHERE key = ?').get(k) as { value: Buffer }).value);
  const account = decodeAccountIdentityRecord(get('account_identity'));
  const device = decodeDeviceIdentityRecord(get('device_identity'));
  const keys = [account.privateKey, device.signingPrivateKey, device.dhPrivateKey];
  const rows = (table: string) =>
    (db.prepare(`SELECT record FROM ${table}`).all() as { record: Buffer }[]).map((r) => new Uint8Array(r.record));
  for (const r of rows('signed_prekeys')) keys.push(decodeSignedPreKeyRecord(r).privateKey);
  for (const r of rows('one_time_prekeys')) keys.push(decodeOneTimePreKeyRecord(r).privateKey);
  for (const r of rows('kem_prekeys')) keys.push(decodeKemPreKeyRecord(r).secretKey.slice(0, 64));
  for (const r of db.prepare('SELECT private FROM key_packages').all() as { private: Buffer }[]) {
    keys.push(new Uint8Array(r.private).slice(1, 33), new Uint8Array(r.private).slice(33, 65));
  }
  const config = groupClientConfig(async () => true, createNodeCryptoProvider());
  const groups = db.prepare('SELECT record, tree FROM groups').all() as { record: Buffer; tree: Buffer | null }[];
  for (const r of groups) {
    const state = decodeGroupRecord(
      new Uint8Array(r.record),
      config,
      r.tree === null ? undefined : new Uint8Array(r.tree),
    );
    const { senderDataSecret, exporterSecret, confirmationKey, membershipKey, initSecret } = state.keySchedule;
    keys.push(senderDataSecret, exporterSecret, confirmationKey, membershipKey, initSecret);
    keys.push(...Object.values(state.privatePath.privateKeys));
  }
  db.close();
  return keys;
}
