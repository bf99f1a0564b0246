/**
 * The client's key-transparency checks, without I/O (docs/protocol.md §20): a new
 * signed head against the one held (signature, monotonic epoch and time, previous-head chaining,
 * RFC 9162 log consistency), and a lookup answer against a head (ECVRF proof of the name under the
 * pinned VRF key, map proof against the head's map root, value equal to what the server served).
 * Every failure is a `ClientError`: `DIRECTORY_INCONSISTENT` for heads, `KEY_NOT_IN_DIRECTORY`
 * for lookups (a malformed, truncated or oversized proof included).
 */
import { type CryptoProvider, constantTimeEqual, decodeSignedDeviceList, fromBase64Url } from '@parley/protocol';
import {
  decodeMapProof,
  decodeSignedTreeHead,
  directoryValueHash,
  ktAccountVrfInput,
  ktMapKey,
  MAP_PROOF_MAX_BYTES,
  SIGNED_TREE_HEAD_LENGTH,
  type SignedTreeHead,
  treeHeadHash,
  VRF_PROOF_LENGTH,
  verifyLogConsistency,
  verifyMapProof,
  verifyTreeHead,
  vrfVerify,
} from '@parley/protocol/kt';
import { deviceListHash } from '../directory/list-claims.ts';
import { ClientError } from '../errors.ts';

/** Largest consistency proof accepted (hashes): RFC 9162 needs at most ~2·log2(size). */
const MAX_CONSISTENCY_HASHES = 128;

/** A lookup answer as it arrives (`kt-lookup`, or the `kt` field of `get-account`/`fetch-bundles`). */
export interface KtLookupAnswer {
  readonly head: string;
  readonly vrfProof: string;
  readonly mapProof: string;
  readonly value?: { readonly version: number; readonly accountKey: string; readonly deviceListHash: string };
}

/** A lookup answer after its fields' shapes and lengths were checked. */
export interface ParsedLookup {
  readonly head: SignedTreeHead;
  readonly headBytes: Uint8Array;
  readonly vrfProof: Uint8Array;
  readonly mapProof: Uint8Array;
  readonly value:
    | { readonly version: number; readonly accountKey: Uint8Array; readonly deviceListHash: Uint8Array }
    | undefined;
}

/** What a verified lookup established. */
export interface VerifiedLookup {
  readonly epoch: number;
  /**
   * With a served value: `match` when the directory holds exactly it; `pending` when the
   * directory does not hold the account yet, or holds the same account key with another device
   * list: a change newer than the head (epochs are published every few seconds). The caller
   * rechecks a pending value and refuses it once it stays out of the directory too long.
   */
  readonly status: 'match' | 'pending';
  /** The directory value's version (0 when the name is proven absent). */
  readonly version: number;
  readonly accountKey: Uint8Array | undefined;
  readonly deviceListHash: Uint8Array | undefined;
}

function notInDirectory(name: string, why: string, cause?: unknown): ClientError {
  return new ClientError(
    'KEY_NOT_IN_DIRECTORY',
    `the key the server served for ${name} is not in its directory (${why}); it was not used`,
    { cause },
  );
}

function inconsistent(why: string, cause?: unknown): ClientError {
  return new ClientError('DIRECTORY_INCONSISTENT', `the server's key directory is inconsistent: ${why}`, { cause });
}

/** base64url of at most `max` bytes, or throws `err`. */
function b64(field: string, x: unknown, max: number, err: (why: string) => ClientError): Uint8Array {
  // 4 characters per 3 bytes: refuse an oversized string before decoding it.
  if (typeof x !== 'string' || x.length > Math.ceil((max * 4) / 3) + 4) throw err(`${field} is missing or too long`);
  try {
    return fromBase64Url(field, x);
  } catch {
    throw err(`${field} is not base64url`);
  }
}

/** Decodes a signed head (shape only: the signature is checked by `checkHeadStep`). */
export function parseSignedHead(x: unknown): { head: SignedTreeHead; bytes: Uint8Array } {
  const bytes = b64('head', x, SIGNED_TREE_HEAD_LENGTH, (why) => inconsistent(why));
  try {
    return { head: decodeSignedTreeHead(bytes), bytes };
  } catch (cause) {
    throw inconsistent('a malformed signed head', cause);
  }
}

/** Checks a lookup answer's shape; `KEY_NOT_IN_DIRECTORY` for anything missing, malformed or oversized. */
export function parseLookupAnswer(name: string, x: unknown): ParsedLookup {
  const fail = (why: string): ClientError => notInDirectory(name, why);
  if (typeof x !== 'object' || x === null) throw fail('no lookup proof');
  const a = x as Record<string, unknown>;
  const headBytes = b64('head', a.head, SIGNED_TREE_HEAD_LENGTH, fail);
  let head: SignedTreeHead;
  try {
    head = decodeSignedTreeHead(headBytes);
  } catch (cause) {
    throw notInDirectory(name, 'a malformed head', cause);
  }
  const vrfProof = b64('vrfProof', a.vrfProof, VRF_PROOF_LENGTH, fail);
  if (vrfProof.length !== VRF_PROOF_LENGTH) throw fail('a VRF proof of the wrong length');
  const mapProof = b64('mapProof', a.mapProof, MAP_PROOF_MAX_BYTES, fail);
  let value: ParsedLookup['value'];
  if (a.value !== undefined) {
    const v = a.value as Record<string, unknown>;
    if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.version) || (v.version as number) < 1) {
      throw fail('a malformed value');
    }
    const accountKey = b64('accountKey', v.accountKey, 32, fail);
    const listHash = b64('deviceListHash', v.deviceListHash, 32, fail);
    if (accountKey.length !== 32 || listHash.length !== 32) throw fail('a malformed value');
    value = { version: v.version as number, accountKey, deviceListHash: listHash };
  }
  return { head, headBytes, vrfProof, mapProof, value };
}

/**
 * Checks that `next` may follow `held` (the newest head this device holds, if any): signed by
 * the pinned directory key; a later epoch with a time not going back; for the very next epoch,
 * naming `held` as its previous head; and a log that extends `held`'s (RFC 9162 consistency
 * `proof`). The same epoch must be the same head byte for byte. An earlier epoch is refused
 * here (the caller compares it with the head it holds for that epoch, if any).
 */
export async function checkHeadStep(
  crypto: CryptoProvider,
  directoryKey: Uint8Array,
  held: SignedTreeHead | undefined,
  next: SignedTreeHead,
  proof: readonly Uint8Array[],
): Promise<void> {
  try {
    await verifyTreeHead(crypto, directoryKey, next);
  } catch (cause) {
    throw inconsistent('a head not signed by the pinned directory key', cause);
  }
  if (held === undefined) return;
  const h = held.head;
  const n = next.head;
  if (n.epoch === h.epoch) {
    if (!constantTimeEqual(treeHeadHash(n), treeHeadHash(h)))
      throw inconsistent(`two different heads for epoch ${n.epoch}`);
    return;
  }
  if (n.epoch < h.epoch) throw inconsistent(`epoch ${n.epoch} after epoch ${h.epoch} (a rollback)`);
  if (n.timeMs < h.timeMs) throw inconsistent('a later epoch with an earlier time');
  if (n.logSize < h.logSize) throw inconsistent('a later epoch with a shorter log');
  if (n.epoch === h.epoch + 1 && !constantTimeEqual(n.previousHeadHash, treeHeadHash(h))) {
    throw inconsistent(`epoch ${n.epoch} does not follow the held epoch ${h.epoch}`);
  }
  if (proof.length > MAX_CONSISTENCY_HASHES) throw inconsistent('an oversized consistency proof');
  try {
    verifyLogConsistency(h.logSize, n.logSize, h.logRoot, n.logRoot, proof);
  } catch (cause) {
    throw inconsistent(`the log of epoch ${n.epoch} does not extend the log of epoch ${h.epoch}`, cause);
  }
}

/** Decodes a consistency proof (base64url hashes) with bounds; `DIRECTORY_INCONSISTENT` otherwise. */
export function parseConsistencyProof(x: unknown): Uint8Array[] {
  if (x === undefined) return [];
  if (!Array.isArray(x) || x.length > MAX_CONSISTENCY_HASHES) throw inconsistent('a malformed consistency proof');
  return x.map((h) => {
    const b = b64('proof', h, 32, (why) => inconsistent(why));
    if (b.length !== 32) throw inconsistent('a consistency proof hash is not 32 bytes');
    return b;
  });
}

/**
 * Verifies a parsed lookup of `name` against `head` (already accepted by the caller): the VRF
 * proof under `vrfKey` gives the map key, the map proof leads to the head's map root, and the
 * proven value hash is the hash of the served value. With `served`, the value must carry the
 * served account key and the hash of the served signed device list. Returns what was proven.
 */
export function verifyLookupAgainst(
  vrfKey: Uint8Array,
  head: SignedTreeHead,
  name: string,
  lookup: ParsedLookup,
  served: { readonly accountKey: Uint8Array; readonly deviceList: Uint8Array } | undefined,
  /**
   * This device already pins a key for `name`: a served key other than the directory's is then a
   * key change (held by the key-change policy) that may be newer than the head, so it is pending
   * rather than refused. For a first contact it is refused at once.
   */
  knownContact = false,
): VerifiedLookup {
  let mapKey: Uint8Array;
  try {
    mapKey = ktMapKey(vrfVerify(vrfKey, ktAccountVrfInput(name), lookup.vrfProof));
  } catch (cause) {
    throw notInDirectory(name, 'the VRF proof does not verify under the pinned key', cause);
  }
  let result: ReturnType<typeof verifyMapProof>;
  try {
    result = verifyMapProof(head.head.mapRoot, mapKey, decodeMapProof(lookup.mapProof));
  } catch (cause) {
    throw notInDirectory(name, 'the map proof does not verify', cause);
  }
  const v = lookup.value;
  if (!result.present) {
    if (v !== undefined) throw notInDirectory(name, 'a value was given for an account proven absent');
    return { epoch: head.head.epoch, status: 'pending', version: 0, accountKey: undefined, deviceListHash: undefined };
  }
  if (v === undefined) throw notInDirectory(name, 'the proven value was not given');
  if (!constantTimeEqual(directoryValueHash(v), result.valueHash)) {
    throw notInDirectory(name, 'the value given is not the one proven');
  }
  if (served !== undefined) {
    if (!constantTimeEqual(v.accountKey, served.accountKey)) {
      if (!knownContact) throw notInDirectory(name, 'another account key is in the directory');
      return {
        epoch: head.head.epoch,
        status: 'pending',
        version: v.version,
        accountKey: v.accountKey,
        deviceListHash: v.deviceListHash,
      };
    }
    let listHash: Uint8Array;
    try {
      listHash = deviceListHash(decodeSignedDeviceList(served.deviceList));
    } catch (cause) {
      throw notInDirectory(name, 'the served device list does not decode', cause);
    }
    if (!constantTimeEqual(v.deviceListHash, listHash)) {
      return {
        epoch: head.head.epoch,
        status: 'pending',
        version: v.version,
        accountKey: v.accountKey,
        deviceListHash: v.deviceListHash,
      };
    }
  }
  return {
    epoch: head.head.epoch,
    status: 'match',
    version: v.version,
    accountKey: v.accountKey,
    deviceListHash: v.deviceListHash,
  };
}
