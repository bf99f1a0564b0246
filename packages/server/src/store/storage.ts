/**
 * The server's storage roles. The SQLite adapter implements them today; a PostgreSQL adapter
 * will implement the same interfaces (issue 8), checked by one contract suite.
 *
 * Every method is async so either backend fits. Bytes are `Uint8Array`; names are validated
 * before they get here.
 */

/** An account as the directory holds it. */
export interface AccountRow {
  readonly name: string;
  readonly accountKey: Uint8Array;
  /** The encoded signed device list, served verbatim to clients that verify it. */
  readonly deviceList: Uint8Array;
  readonly listVersion: number;
  readonly createdAt: number;
}

/** A device of an account. */
export interface DeviceRow {
  readonly account: string;
  readonly id: number;
  readonly identity: Uint8Array;
}

/** A new account with its first devices. */
export interface NewAccount extends AccountRow {
  readonly devices: readonly DeviceRow[];
}

/** Accounts, devices and invites. */
export interface AccountStore {
  /** Creates the account; with `inviteHash`, consumes that unused invite in the same transaction. */
  createAccount(account: NewAccount, inviteHash?: Uint8Array): Promise<'created' | 'name-taken' | 'bad-invite'>;
  getAccount(name: string): Promise<AccountRow | undefined>;
  listDevices(name: string): Promise<DeviceRow[]>;
  /**
   * The account's devices in id order with each one's key id (base64url of the first 8 bytes of
   * its identity signing key); empty when there is no such account. The hot path of every send.
   */
  deviceSet(name: string): Promise<readonly { readonly id: number; readonly keyId: string }[]>;
  createInvite(codeHash: Uint8Array, createdAt: number): Promise<void>;
  /**
   * Replaces the account's signed device list if its stored version is still `expectedVersion`
   * (else `stale`): adds listed devices, and removes unlisted ones (and ids whose identity
   * changed) with their prekeys and queues; `removed` lists those ids.
   */
  updateDeviceList(
    name: string,
    expectedVersion: number,
    list: { readonly bytes: Uint8Array; readonly version: number; readonly devices: readonly DeviceRow[] },
  ): Promise<{ status: 'updated'; removed: number[] } | { status: 'stale' }>;
}

/** A signed X25519 prekey or ML-KEM prekey as uploaded. */
export interface SignedKeyRow {
  readonly id: number;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
}

/** A one-time X25519 prekey as uploaded. */
export interface OneTimeKeyRow {
  readonly id: number;
  readonly publicKey: Uint8Array;
}

/** What a bundle fetch takes from the directory for one device. */
export interface TakenBundle {
  readonly signedPreKey: SignedKeyRow;
  readonly oneTimePreKey?: OneTimeKeyRow | undefined;
  readonly kemPreKey: SignedKeyRow & { readonly lastResort: boolean };
}

/** Unused one-time prekeys a device has on the server. */
export interface PreKeyCounts {
  readonly oneTime: number;
  readonly kem: number;
}

/** The prekey directory. */
export interface PreKeyDirectory {
  /** Stores the given keys for one device in one transaction (signed keys replace the old ones). */
  storePreKeys(
    account: string,
    device: number,
    keys: {
      signedPreKey?: SignedKeyRow | undefined;
      oneTimePreKeys: readonly OneTimeKeyRow[];
      kemPreKeys: readonly SignedKeyRow[];
      lastResortKemPreKey?: SignedKeyRow | undefined;
    },
  ): Promise<PreKeyCounts>;
  countPreKeys(account: string, device: number): Promise<PreKeyCounts>;
  /**
   * Atomically removes and returns one one-time X25519 prekey and one one-time ML-KEM prekey
   * (or the last-resort ML-KEM key when none is left) with the signed prekey. Two concurrent
   * calls never return the same one-time key. Undefined when the device has no signed prekey
   * or no ML-KEM key at all.
   */
  takeBundle(account: string, device: number): Promise<TakenBundle | undefined>;
}

/** One ciphertext for one device, as queued. */
export interface QueuedMessage {
  readonly seq: number;
  readonly sender: string;
  readonly senderDevice: number;
  readonly messageId: string;
  readonly kind: number;
  readonly body: Uint8Array;
  readonly serverTime: number;
}

/** A whole `send` request: one message id, one ciphertext per recipient device. */
export interface SendBatchItem {
  readonly sender: string;
  readonly senderDevice: number;
  readonly messageId: string;
  readonly recipient: string;
  readonly messages: readonly { readonly device: number; readonly kind: number; readonly body: Uint8Array }[];
}

/** The outcome of one `SendBatchItem`. */
export type SendOutcome =
  | { readonly status: 'queued'; readonly seqs: readonly { readonly device: number; readonly seq: number }[] }
  | { readonly status: 'duplicate' }
  | { readonly status: 'queue-full'; readonly devices: readonly number[] };

/** What the queues and the idempotency log hold about one account (metadata only). */
export interface QueueRecords {
  /** Messages waiting for the account's devices: who sent them, when, how big. */
  readonly inbound: readonly {
    device: number;
    sender: string;
    senderDevice: number;
    serverTime: number;
    bytes: number;
  }[];
  /** Messages the account sent that still wait for their recipients. */
  readonly outbound: readonly {
    recipient: string;
    device: number;
    senderDevice: number;
    serverTime: number;
    bytes: number;
  }[];
  /** Transport ids the account used recently (kept to make retries idempotent). */
  readonly sendLog: readonly { senderDevice: number; messageId: string; serverTime: number }[];
}

/** Per-device message queues. */
export interface MessageQueue {
  /**
   * Durably stores a batch of sends in one transaction and returns one outcome per item. A
   * repeated (sender, device, messageId) is a `duplicate` and stores nothing; a send whose
   * recipient device is at its cap stores nothing and reports `queue-full`.
   */
  enqueue(
    items: readonly SendBatchItem[],
    now: number,
    expiresAt: number,
    maxPerDevice: number,
    /** Acknowledgements removed in the same transaction (one commit, one fsync, per batch). */
    acks?: readonly { account: string; device: number; seqs: readonly number[] }[],
  ): Promise<SendOutcome[]>;
  /** Queued messages for a device with seq > `afterSeq`, oldest first, unexpired at `now`. */
  pending(account: string, device: number, afterSeq: number, limit: number, now: number): Promise<QueuedMessage[]>;
  /** Removes acknowledged messages (only the device's own). */
  acknowledge(acks: readonly { account: string; device: number; seqs: readonly number[] }[]): Promise<void>;
  /** Removes expired messages and old idempotency records; returns how many messages expired. */
  purgeExpired(now: number, sendLogBefore: number): Promise<number>;
  queueDepth(account: string, device: number): Promise<number>;
  /** Messages queued for all devices (for metrics). */
  totalQueueDepth(): Promise<number>;
  /** Everything the queues and the send log hold about `account`, for `parley admin export`. */
  queueRecords(account: string): Promise<QueueRecords>;
}

/** Everything the relay stores, and closing it. */
export interface Storage extends AccountStore, PreKeyDirectory, MessageQueue {
  close(): Promise<void>;
}
