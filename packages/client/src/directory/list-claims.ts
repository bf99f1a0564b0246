/**
 * Device-list claims (docs/protocol.md §10, "Never go back"): the newest device-list version,
 * with its hash, that an account's own authenticated messages announced and that this device has
 * not yet seen a verified list for. While a claim is open the account's trusted list is known to
 * be stale (the server may be serving a list from before a device was removed), so nothing is
 * encrypted to it.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { constantTimeEqual, encodeSignedDeviceList, type SignedDeviceList } from '@parley/protocol';
import { blob, type HomeDatabase } from '../home/database.ts';
import { statement } from '../home/statement.ts';

/** An announced list this device has not verified yet. */
export interface ListClaim {
  readonly version: number;
  /** SHA-256 of the announced encoded signed list. */
  readonly hash: Uint8Array;
}

/** A `device_list_claims` row. */
interface ClaimRow {
  readonly name: string;
  readonly version: number;
  readonly hash: Uint8Array;
}

/** The claims table. */
export interface ListClaims {
  get(name: string): ListClaim | undefined;
  /** Records `claim` unless a claim of a higher version is already open for `name`. */
  raise(name: string, claim: ListClaim): void;
  clear(name: string): void;
}

/** SHA-256 of an encoded signed device list: what a stamp's `dlh` carries. */
export function deviceListHash(list: SignedDeviceList): Uint8Array {
  return sha256(encodeSignedDeviceList(list));
}

/**
 * Whether `trusted` answers `claim`: a newer version, or the same version with the same hash.
 * The same version with another hash means the account key signed two different lists of that
 * version; the claim stays open, and the account is not sent to until a newer list arrives.
 */
export function satisfies(trusted: SignedDeviceList, claim: ListClaim): boolean {
  if (trusted.version !== claim.version) return trusted.version > claim.version;
  return constantTimeEqual(deviceListHash(trusted), claim.hash);
}

/** Opens the claims table over the home database. */
export function createListClaims(db: HomeDatabase): ListClaims {
  const q = {
    get: statement<[string], ClaimRow>(db, 'SELECT * FROM device_list_claims WHERE name = ?'),
    raise: statement<[string, number, Uint8Array]>(
      db,
      `INSERT INTO device_list_claims (name, version, hash) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET version = excluded.version, hash = excluded.hash
         WHERE device_list_claims.version < excluded.version`,
    ),
    clear: statement<[string]>(db, 'DELETE FROM device_list_claims WHERE name = ?'),
  };
  return {
    get(name) {
      const r = q.get.get(name);
      return r && { version: r.version, hash: blob(r.hash) };
    },
    raise(name, claim) {
      q.raise.run(name, claim.version, claim.hash);
    },
    clear(name) {
      q.clear.run(name);
    },
  };
}
