/**
 * What this device keeps of the key-transparency directory (home migration 11): the pinned
 * directory keys, the signed heads it accepted (by epoch), its last self-check, the evidence it
 * collected of a misbehaving directory, and the accounts whose sends stop meanwhile.
 */
import { blob, type HomeDatabase } from '../home/database.ts';
import { statement } from '../home/statement.ts';

/** The directory's public keys this device trusts. */
export interface KtPins {
  /** Ed25519 key that signs tree heads. */
  readonly directoryKey: Uint8Array;
  /** ECVRF public key hiding account names in the map. */
  readonly vrfKey: Uint8Array;
  readonly pinnedAt: number;
  /**
   * True when pinned on first connect rather than at registration (an account registered before
   * the server had a directory): trust on first use.
   */
  readonly tofu: boolean;
  /** Witness keys (base64url) whose cosignatures count, and how many a head needs (never lowered). */
  readonly witnessKeys: readonly string[];
  readonly requireWitnesses: number;
}

/** The last check of our own directory entry. */
export interface SelfCheck {
  readonly checkedAt: number;
  readonly epoch: number;
  /** The directory value's version seen then (0: not in the directory). */
  readonly version: number;
  /** Our device list's version then. */
  readonly listVersion: number;
  readonly ok: boolean;
}

/** A piece of evidence against the directory, kept for the user to publish. */
export interface KtEvidence {
  readonly kind: 'split-view' | 'inconsistent' | 'mismatch';
  readonly at: number;
  /** The account concerned, if one. */
  readonly name: string | undefined;
  readonly detail: string;
  /** Encoded signed heads (the one held, the one conflicting with it), when the evidence is two heads. */
  readonly heads: readonly Uint8Array[];
}

interface PinRow {
  readonly directory_key: Uint8Array;
  readonly vrf_key: Uint8Array;
  readonly pinned_at: number;
  readonly tofu: number;
  readonly witness_keys: string;
  readonly require_witnesses: number;
}
interface CheckRow {
  readonly checked_at: number;
  readonly epoch: number;
  readonly version: number;
  readonly list_version: number;
  readonly ok: number;
}
interface EvidenceRow {
  readonly kind: KtEvidence['kind'];
  readonly at: number;
  readonly name: string | null;
  readonly detail: string;
  readonly head_a: Uint8Array | null;
  readonly head_b: Uint8Array | null;
}

/** How many heads are kept (the newest ones): enough to answer gossip about recent epochs. */
export const KT_HEADS_KEPT = 2048;

/** The key-transparency tables. */
export interface KtStore {
  pins(): KtPins | undefined;
  pin(pins: KtPins): void;
  /** The newest held head (encoded signed head), if any. */
  latestHead(): { epoch: number; head: Uint8Array } | undefined;
  /** The held head of `epoch`, if any. */
  headAt(epoch: number): Uint8Array | undefined;
  saveHead(epoch: number, head: Uint8Array, at: number): void;
  selfCheck(): SelfCheck | undefined;
  saveSelfCheck(check: SelfCheck): void;
  evidence(): KtEvidence[];
  addEvidence(e: KtEvidence): void;
  /** Accounts sends to which are stopped, with why. */
  blocked(name: string): string | undefined;
  block(name: string, reason: string): void;
}

/** Opens the key-transparency tables over the home database. */
export function createKtStore(db: HomeDatabase): KtStore {
  const q = {
    pins: statement<[], PinRow>(
      db,
      'SELECT directory_key, vrf_key, pinned_at, tofu, witness_keys, require_witnesses FROM kt_pins WHERE id = 1',
    ),
    pin: statement<[Uint8Array, Uint8Array, number, number, string, number]>(
      db,
      'INSERT OR REPLACE INTO kt_pins (id, directory_key, vrf_key, pinned_at, tofu, witness_keys, require_witnesses) VALUES (1, ?, ?, ?, ?, ?, ?)',
    ),
    latest: statement<[], { epoch: number; head: Uint8Array }>(
      db,
      'SELECT epoch, head FROM kt_heads ORDER BY epoch DESC LIMIT 1',
    ),
    at: statement<[number], { head: Uint8Array }>(db, 'SELECT head FROM kt_heads WHERE epoch = ?'),
    save: statement<[number, Uint8Array, number]>(
      db,
      'INSERT OR IGNORE INTO kt_heads (epoch, head, received_at) VALUES (?, ?, ?)',
    ),
    prune: statement<[number]>(
      db,
      'DELETE FROM kt_heads WHERE epoch <= (SELECT epoch FROM kt_heads ORDER BY epoch DESC LIMIT 1 OFFSET ?)',
    ),
    check: statement<[], CheckRow>(
      db,
      'SELECT checked_at, epoch, version, list_version, ok FROM kt_self_check WHERE id = 1',
    ),
    saveCheck: statement<[number, number, number, number, number]>(
      db,
      'INSERT OR REPLACE INTO kt_self_check (id, checked_at, epoch, version, list_version, ok) VALUES (1, ?, ?, ?, ?, ?)',
    ),
    evidence: statement<[], EvidenceRow>(
      db,
      'SELECT kind, at, name, detail, head_a, head_b FROM kt_evidence ORDER BY id',
    ),
    addEvidence: statement<[string, number, string | null, string, Uint8Array | null, Uint8Array | null]>(
      db,
      'INSERT INTO kt_evidence (kind, at, name, detail, head_a, head_b) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    blocked: statement<[string], { reason: string }>(db, 'SELECT reason FROM kt_blocked WHERE name = ?'),
    block: statement<[string, string]>(db, 'INSERT OR REPLACE INTO kt_blocked (name, reason) VALUES (?, ?)'),
  };
  return {
    pins() {
      const r = q.pins.get();
      return (
        r && {
          directoryKey: blob(r.directory_key),
          vrfKey: blob(r.vrf_key),
          pinnedAt: r.pinned_at,
          tofu: r.tofu !== 0,
          witnessKeys: r.witness_keys === '' ? [] : r.witness_keys.split(','),
          requireWitnesses: r.require_witnesses,
        }
      );
    },
    pin(p) {
      q.pin.run(p.directoryKey, p.vrfKey, p.pinnedAt, p.tofu ? 1 : 0, p.witnessKeys.join(','), p.requireWitnesses);
    },
    latestHead() {
      const r = q.latest.get();
      return r && { epoch: r.epoch, head: blob(r.head) };
    },
    headAt(epoch) {
      const r = q.at.get(epoch);
      return r && blob(r.head);
    },
    saveHead(epoch, head, at) {
      q.save.run(epoch, head, at);
      q.prune.run(KT_HEADS_KEPT);
    },
    selfCheck() {
      const r = q.check.get();
      return (
        r && {
          checkedAt: r.checked_at,
          epoch: r.epoch,
          version: r.version,
          listVersion: r.list_version,
          ok: r.ok !== 0,
        }
      );
    },
    saveSelfCheck(c) {
      q.saveCheck.run(c.checkedAt, c.epoch, c.version, c.listVersion, c.ok ? 1 : 0);
    },
    evidence() {
      return q.evidence.all().map((r) => ({
        kind: r.kind,
        at: r.at,
        name: r.name ?? undefined,
        detail: r.detail,
        heads: [r.head_a, r.head_b].filter((h): h is Uint8Array => h !== null).map(blob),
      }));
    },
    addEvidence(e) {
      q.addEvidence.run(e.kind, e.at, e.name ?? null, e.detail, e.heads[0] ?? null, e.heads[1] ?? null);
    },
    blocked(name) {
      return q.blocked.get(name)?.reason;
    },
    block(name, reason) {
      q.block.run(name, reason);
    },
  };
}
