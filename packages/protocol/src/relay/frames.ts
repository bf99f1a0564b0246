/**
 * The relay API (docs/protocol.md §11): JSON text frames over one WebSocket between a client
 * device and the relay server. Binary fields are unpadded base64url strings. Every frame the
 * client sends carries `v: 1`; requests carry an `id` that the answer echoes.
 *
 * This module holds only the shared vocabulary (types, limits, error codes and the bytes a
 * device signs to authenticate); the server validates what it receives and the client what it
 * receives.
 */

import { concatBytes, u32be, utf8 } from '../bytes.ts';
import type { BlobSlot } from './blob-api.ts';

/** The relay API version every client frame carries. */
export const RELAY_API_VERSION = 1;

/** Bounds of an account name, in characters. */
export const ACCOUNT_NAME_MIN_LENGTH = 3;
export const ACCOUNT_NAME_MAX_LENGTH = 32;
/**
 * The characters an account name may use, as the body of a regular-expression character class
 * (valid with and without the `v` flag, so an HTML `pattern` attribute can use it too).
 */
export const ACCOUNT_NAME_CHARACTERS = 'a-z0-9_.\\-';
/** Account names: 3–32 characters of `[a-z0-9_.-]`. */
export const ACCOUNT_NAME_PATTERN = new RegExp(
  `^[${ACCOUNT_NAME_CHARACTERS}]{${ACCOUNT_NAME_MIN_LENGTH},${ACCOUNT_NAME_MAX_LENGTH}}$`,
);

/**
 * The rule `accountNameSkeleton` applies, in words a person can act on (the relay's
 * `NAME_CONFUSABLE` refusal and the clients quote it).
 */
export const NAME_SKELETON_RULE =
  'names are the same when they match after reading 0 as o, 1 and i as l, rn as m and vv as w, ' +
  'treating . _ - alike and ignoring repeated, leading or trailing ones';

/**
 * The confusable skeleton of an account name: two names with the same skeleton look alike to a
 * reader (`a1ice`, `alice.`, `rnallory`/`mallory`, `bob_smith`/`bob.smith`), so a relay lets
 * only one of them register. Folds 0→o, 1→l, i→l, then rn→m and vv→w, makes every run of
 * `.`, `_`, `-` one `.` and drops it at either end. A small, fixed subset of Unicode TR39's
 * skeleton for the ASCII alphabet account names use; changing it changes stored skeletons
 * (the server keeps one per account), so it is frozen by the unit tests.
 */
export function accountNameSkeleton(name: string): string {
  return name
    .toLowerCase()
    .replace(/0/g, 'o')
    .replace(/[1i]/g, 'l')
    .replace(/rn/g, 'm')
    .replace(/vv/g, 'w')
    .replace(/[._-]+/g, '.')
    .replace(/^\.|\.$/g, '');
}

/** Bounds of a send's transport id (`messageId`), in characters. */
export const MESSAGE_ID_MIN_LENGTH = 8;
export const MESSAGE_ID_MAX_LENGTH = 64;
/** A send's transport id, chosen by the sender: 8–64 characters of `[A-Za-z0-9_-]`. */
export const MESSAGE_ID_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${MESSAGE_ID_MIN_LENGTH},${MESSAGE_ID_MAX_LENGTH}}$`);

/**
 * Kinds of queued message. `retry` asks the sender to re-establish a session and resend;
 * `group` carries an MLS PrivateMessage (application message or commit) and `welcome` an MLS
 * Welcome, both opaque to the server (docs/protocol.md §14).
 */
export type DeliveryKind = 'initial' | 'ratchet' | 'retry' | 'group' | 'welcome';

/** Every code an error frame can carry. */
export type RelayErrorCode =
  | 'BAD_FRAME'
  | 'FRAME_TOO_LARGE'
  | 'UNKNOWN_VERSION'
  | 'UNKNOWN_OP'
  | 'NOT_AUTHENTICATED'
  | 'ALREADY_AUTHENTICATED'
  | 'AUTH_FAILED'
  | 'HANDSHAKE_TIMEOUT'
  | 'INVALID_NAME'
  | 'NAME_TAKEN'
  | 'NAME_CONFUSABLE'
  | 'INVITE_REQUIRED'
  | 'INVALID_SIGNATURE'
  | 'INVALID_KEY'
  | 'UNKNOWN_ACCOUNT'
  | 'STALE_DEVICES'
  | 'MESSAGE_TOO_LARGE'
  | 'QUEUE_FULL'
  | 'RATE_LIMITED'
  | 'NO_PREKEYS'
  | 'SHUTTING_DOWN'
  | 'UNKNOWN_CHANNEL'
  | 'STALE_DEVICE_LIST'
  | 'NO_KEY_PACKAGES'
  | 'INVALID_KEY_PACKAGE'
  | 'GROUP_EXISTS'
  | 'UNKNOWN_GROUP'
  | 'NOT_A_MEMBER'
  | 'NOT_INVITED'
  | 'EPOCH_MOVED'
  /** `blob-slot`: the declared size is above the server's largest attachment. */
  | 'ATTACHMENT_TOO_LARGE'
  /** `blob-slot`: the account's blobs would exceed its quota. */
  | 'QUOTA_EXCEEDED'
  | 'STORAGE_UNAVAILABLE'
  /** Key transparency: the directory has no head yet, or is being updated (retry). */
  | 'KT_UNAVAILABLE'
  | 'INTERNAL';

/** Signed-prekey upload. */
export interface WireSignedPreKey {
  readonly id: number;
  readonly publicKey: string;
  readonly signature: string;
  /** Signed creation time, whole Unix seconds (docs/protocol.md §1.1). */
  readonly createdAt: number;
}

/** One-time X25519 prekey upload. */
export interface WireOneTimePreKey {
  readonly id: number;
  readonly publicKey: string;
}

/** ML-KEM prekey upload (one-time or last-resort, as its signature says). */
export interface WireKemPreKey {
  readonly id: number;
  readonly publicKey: string;
  readonly signature: string;
  /** Signed creation time, whole Unix seconds (docs/protocol.md §1.1). */
  readonly createdAt: number;
}

/** One device-addressed ciphertext inside a `send` request. */
export interface WireOutgoing {
  readonly device: number;
  readonly kind: DeliveryKind;
  readonly body: string;
  /**
   * Base64url of the first 8 bytes of the device identity signing key the body was encrypted
   * for. A server whose device under that id has another identity answers STALE_DEVICES with
   * the id in `changed`, so the sender learns of a reinstall instead of sending into the void.
   */
  readonly keyId?: string;
}

/** The devices of one account in a group's delivery list. */
export interface WireGroupMember {
  readonly name: string;
  readonly devices: readonly number[];
}

/** Requests by operation name: the `args` each takes and the `result` it answers with. */
export interface RelayOps {
  register: {
    args: {
      name: string;
      accountKey: string;
      identity: string;
      deviceList: string;
      invite?: string;
      signature: string;
    };
    /** The directory's public keys (base64url), pinned by the client at registration. */
    result: { device: number; ktKey?: string; ktVrfKey?: string };
  };
  /**
   * `token`: the connection token the previous `auth` of this device returned (base64url, 32
   * bytes; absent on a device's first `auth`). The result carries the next one. A token that is
   * not the last one issued (a copy of the device's home authenticated in between) makes the
   * server send `key-in-use` (docs/protocol.md §11). The directory's public keys come with it, so
   * an account registered before its server had a directory pins them (trust on first use).
   */
  auth: {
    args: { name: string; device: number; signature: string; token?: string };
    result: { device: number; token: string; ktKey?: string; ktVrfKey?: string };
  };
  'upload-keys': {
    args: {
      signedPreKey?: WireSignedPreKey;
      oneTimePreKeys?: WireOneTimePreKey[];
      kemPreKeys?: WireKemPreKey[];
      lastResortKemPreKey?: WireKemPreKey;
    };
    result: KeyCounts;
  };
  'key-count': { args: Record<string, never>; result: KeyCounts };
  'get-account': { args: { name: string }; result: { accountKey: string; deviceList: string; kt?: KtLookupResult } };
  'fetch-bundles': {
    args: { name: string; devices?: number[] };
    result: {
      accountKey: string;
      deviceList: string;
      bundles: { device: number; bundle: string }[];
      kt?: KtLookupResult;
    };
  };
  /**
   * Deletes the caller's account for good: its devices, keys, prekeys, KeyPackages, queues,
   * group delivery rows and attachment blobs. `signature`: the account key's Ed25519 signature
   * of `deleteAccountSignedBytes` (only a device holding the account key may delete it).
   */
  'delete-account': { args: { signature: string }; result: Record<string, never> };
  /** Replaces the caller's account's signed device list (adds and removes devices). */
  'update-devices': { args: { deviceList: string }; result: { version: number; removed: number[] } };
  /** New device, unauthenticated: publishes its identity on a link channel and waits there. */
  'link-open': {
    args: { channel: string; identity: string; name: string; mac: string };
    result: { expiresAt: number };
  };
  /** Existing device: reads the offer on a channel. */
  'link-get': { args: { channel: string }; result: { identity: string; name: string; mac: string } };
  /** Existing device: sends the sealed payload to the waiting new device (closes the channel). */
  'link-send': { args: { channel: string; body: string }; result: Record<string, never> };
  send: {
    /**
     * `expiresIn`: seconds (1 to 4 weeks) after which the server drops copies still queued, a
     * disappearing message's backstop (docs/protocol.md §21.4); the queue TTL applies either way.
     */
    args: { name: string; messageId: string; messages: WireOutgoing[]; resend?: boolean; expiresIn?: number };
    result: { serverTime: number; duplicate: boolean };
  };
  /**
   * Publishes MLS KeyPackages for the calling device (each checked: signed by the device's
   * identity key, credential naming this account and device). `lastResort` replaces the
   * device's reusable fallback package.
   */
  'upload-key-packages': { args: { keyPackages: string[]; lastResort?: string }; result: { keyPackages: number } };
  /**
   * Takes one KeyPackage per device of the account (except the caller's own device), each
   * one-time package consumed atomically; the last-resort package when none is left.
   */
  'fetch-key-packages': {
    args: { name: string };
    result: { accountKey: string; deviceList: string; keyPackages: { device: number; keyPackage: string }[] };
  };
  /** Creates a group's delivery record at epoch 0 with the calling device as its only member. */
  'group-create': { args: { groupId: string }; result: { epoch: number } };
  /**
   * Submits a commit built on `epoch`. Accepted only from a listed member and only if the
   * server's epoch for the group is still `epoch` (first wins; else `EPOCH_MOVED`). On accept,
   * in one transaction: the epoch advances, the delivery list becomes `members`, the commit is
   * queued for every device of the old and new lists except the caller and `welcomeTo`, and the
   * welcome for every device in `welcomeTo`.
   */
  'group-commit': {
    args: {
      groupId: string;
      epoch: number;
      messageId: string;
      commit: string;
      members: WireGroupMember[];
      welcome?: string;
      welcomeTo?: WireGroupMember[];
    };
    result: { epoch: number; serverTime: number; duplicate: boolean };
  };
  /** Queues one MLS message for every device on the group's delivery list except the caller. */
  'group-send': {
    args: { groupId: string; messageId: string; body: string };
    result: { serverTime: number; duplicate: boolean };
  };
  /** The group's epoch and delivery list as the server holds them (members only). */
  'group-info': { args: { groupId: string }; result: { epoch: number; members: WireGroupMember[] } };
  /** An upload slot for a blob of `size` (padded) bytes, owned by the calling device (§16.5). */
  'blob-slot': { args: { size: number }; result: BlobSlot };
  /**
   * Key transparency (docs/protocol.md §19): the latest signed head; with `from`, the log
   * consistency proof from the log of head `from` to this head's log (absent when equal).
   */
  'kt-head': { args: { from?: number }; result: KtHeadResult };
  /** The lookup proof of an account against the latest head (`value` absent: not in the map). */
  'kt-lookup': { args: { name: string }; result: KtLookupResult };
}

/** `kt-head` answer (base64url fields). */
export interface KtHeadResult {
  readonly head: string;
  readonly proof?: string[];
  readonly cosignatures: { readonly key: string; readonly sig: string }[];
  /** Clients refuse heads with fewer cosignatures than this from `witnessKeys`. */
  readonly requireWitnesses: number;
  readonly witnessKeys: string[];
}

/** `kt-lookup` answer, also the `kt` field of `get-account` and `fetch-bundles`. */
export interface KtLookupResult {
  readonly head: string;
  readonly vrfProof: string;
  readonly mapProof: string;
  readonly value?: { readonly version: number; readonly accountKey: string; readonly deviceListHash: string };
}

/** Name of a relay operation. */
export type RelayOp = keyof RelayOps;

/** Stock of unused one-time prekeys on the server for the calling device. */
export interface KeyCounts {
  readonly oneTime: number;
  readonly kem: number;
}

/** Client → server frames. */
export type ClientFrame =
  | { v: 1; type: 'request'; id: number; op: RelayOp; args: unknown }
  | { v: 1; type: 'ack'; seqs: number[] };

/** Server → client frames. */
export type ServerFrame =
  | { type: 'challenge'; nonce: string }
  | { type: 'response'; id: number; result: unknown }
  | { type: 'error'; id?: number; code: RelayErrorCode; message: string; details?: unknown }
  | {
      type: 'deliver';
      seq: number;
      from: string;
      fromDevice: number;
      /** The sender's id for the send (what a retry request names). */
      messageId: string;
      kind: DeliveryKind;
      body: string;
      serverTime: number;
    }
  | { type: 'keys-low'; oneTime: number; kem: number }
  /** The calling device's one-time KeyPackage stock on the server fell below the refill mark. */
  | { type: 'key-packages-low'; count: number }
  /**
   * Requesters together are fetching this device's account's prekey bundles (`prekeys`) or
   * KeyPackages (`key-packages`) faster than the server's per-target limit: one-time stock is
   * being spared (last-resort keys are served) and the device should refill now. Sent at most
   * once a minute per device and stock.
   */
  | { type: 'stock-drained'; stock: 'prekeys' | 'key-packages' }
  /**
   * Device `device`'s key authenticated with a connection token that was not the last one issued
   * to it: two homes holding that key (the device's and a copy of it) connected in turn. Sent to
   * the connection that presented it, to the device's open connection if any, and to the
   * account's other connected devices.
   */
  | { type: 'key-in-use'; device: number }
  /** Sent once per connection when everything queued before it connected has been delivered. */
  | { type: 'drained' }
  /** The sealed link payload, pushed to the new device waiting on its channel. */
  | { type: 'link'; body: string };

/** Length of the challenge nonce the server sends and a device signs (`authSignedBytes`). */
export const AUTH_NONCE_LENGTH = 32;

const AUTH_LABEL = utf8('Parley/v1/relay-auth');

/**
 * The bytes a device signs with its identity signing key to answer a challenge: label ‖
 * 32-byte nonce ‖ u32 length ‖ account name ‖ u32 device id (0 while registering). The nonce
 * is fresh per connection and per attempt, so a captured answer is useless elsewhere.
 */
export function authSignedBytes(nonce: Uint8Array, name: string, device: number): Uint8Array {
  const nameBytes = utf8(name);
  return concatBytes(AUTH_LABEL, nonce, u32be(nameBytes.length), nameBytes, u32be(device));
}

const DELETE_ACCOUNT_LABEL = utf8('Parley/v1/delete-account');

/**
 * The bytes the account identity key signs to delete the account (`delete-account`): label ‖
 * u32 length ‖ account name ‖ account public key. Bound to the key, so it deletes nothing once
 * the name belongs to another key.
 */
export function deleteAccountSignedBytes(name: string, accountKey: Uint8Array): Uint8Array {
  const nameBytes = utf8(name);
  return concatBytes(DELETE_ACCOUNT_LABEL, u32be(nameBytes.length), nameBytes, accountKey);
}
