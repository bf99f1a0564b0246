/**
 * The server's storage roles, implemented by the SQLite and the PostgreSQL adapters and
 * checked by one contract suite (test/store/storage-contract.test.ts).
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
  /** `accountNameSkeleton(name)`: no two accounts share one (`name-confusable`). */
  readonly skeleton: string;
}

/** Accounts, devices and invites. */
export interface AccountStore {
  /**
   * Creates the account; with `inviteHash`, consumes that unused invite in the same transaction.
   * `name-taken` when the name exists, `name-confusable` when another account has its skeleton.
   */
  createAccount(
    account: NewAccount,
    inviteHash?: Uint8Array,
  ): Promise<'created' | 'name-taken' | 'name-confusable' | 'bad-invite'>;
  getAccount(name: string): Promise<AccountRow | undefined>;
  listDevices(name: string): Promise<DeviceRow[]>;
  /**
   * The account's devices in id order with each one's key id (base64url of the first 8 bytes of
   * its identity signing key); empty when there is no such account. The hot path of every send.
   */
  deviceSet(name: string): Promise<readonly { readonly id: number; readonly keyId: string }[]>;
  createInvite(codeHash: Uint8Array, createdAt: number): Promise<void>;
  /**
   * Replaces a device's connection-token hash with `nextHash` in one step, and says how the
   * presented one compared with the stored one: `first` when none was stored yet, `match`, or
   * `mismatch` (none presented, or another: another copy of the device's home authenticated in
   * between). `missing` when the device does not exist.
   */
  rotateAuthToken(
    account: string,
    device: number,
    presentedHash: Uint8Array | undefined,
    nextHash: Uint8Array,
  ): Promise<'first' | 'match' | 'mismatch' | 'missing'>;
  /**
   * Replaces the account's signed device list if its stored version is still `expectedVersion`
   * (else `stale`): adds listed devices, and removes unlisted ones (and ids whose identity
   * changed) with their prekeys, KeyPackages, queues and group delivery-list rows; `removed`
   * lists those ids.
   */
  updateDeviceList(
    name: string,
    expectedVersion: number,
    list: { readonly bytes: Uint8Array; readonly version: number; readonly devices: readonly DeviceRow[] },
  ): Promise<{ status: 'updated'; removed: number[] } | { status: 'stale' }>;
  /**
   * Deletes the account `name` if its key is still `accountKey`: the account row (its name is
   * free again), its devices and every per-device row (prekeys, KeyPackages, queues, group
   * delivery-list rows, grants) and its send log. Messages it already queued for others stay.
   * Returns the ids of the devices it had, or undefined when there was no such account.
   */
  deleteAccount(name: string, accountKey: Uint8Array): Promise<number[] | undefined>;
}

/** A signed X25519 prekey or ML-KEM prekey as uploaded, with its signed creation time (Unix seconds). */
export interface SignedKeyRow {
  readonly id: number;
  readonly publicKey: Uint8Array;
  readonly signature: Uint8Array;
  readonly createdAt: number;
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
   * Atomically removes and returns one one-time X25519 prekey and one one-time ML-KEM prekey,
   * each chosen at random among the device's unused ones (not oldest first: a copy of the
   * device's home taken earlier holds the oldest ones' private halves),
   * (or the last-resort ML-KEM key when none is left) with the signed prekey. Two concurrent
   * calls never return the same one-time key. Undefined when the device has no signed prekey
   * or no ML-KEM key at all. With `spare`, takes no one-time key: the bundle carries the signed
   * prekey and the last-resort ML-KEM key (the per-target fetch limit is past).
   */
  takeBundle(account: string, device: number, spare?: boolean): Promise<TakenBundle | undefined>;
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

/** One device of one account. */
export interface DeviceAddress {
  readonly account: string;
  readonly device: number;
}

/** One ciphertext for one device, to be queued. */
export interface OutgoingMessage extends DeviceAddress {
  readonly kind: number;
  readonly body: Uint8Array;
  /**
   * The body's canonical base64url text as the request carried it, when known: a delivery
   * straight from the send reuses it instead of encoding the body again. Not stored.
   */
  readonly bodyText?: string;
}

/**
 * A whole send under one message id: one ciphertext per recipient device. A 1:1 `send` names the
 * devices of one account; a `group-send` the devices of every account on the group's list.
 */
export interface SendBatchItem {
  readonly sender: string;
  readonly senderDevice: number;
  readonly messageId: string;
  readonly messages: readonly OutgoingMessage[];
  /**
   * Every message carries the same kind and body (a group message): the store keeps the body
   * once and one reference per device, so a fan-out to N devices does not store N copies.
   */
  readonly sharedBody?: boolean;
  /**
   * When these copies expire if still queued, sooner than the queue TTL (ms): a disappearing
   * message's lifetime, given by its sender (docs/protocol.md §21.4).
   */
  readonly expiresAt?: number;
}

/** What one device's queue may hold: messages, and body bytes (a shared body counts for each device). */
export interface QueueCaps {
  readonly messages: number;
  readonly bytes: number;
  /**
   * What one sending account's messages may hold of another account's device queue (its fair
   * share; undefined: no per-sender cap). The account's own devices are not held to it.
   */
  readonly senderMessages?: number;
  readonly senderBytes?: number;
}

/** Which cap refused a message: the device's whole queue, or the sending account's share of it. */
export type QueueFullReason = 'queue' | 'sender-share';

/** Where one queued message went. */
export interface QueuedAt extends DeviceAddress {
  readonly seq: number;
}

/** The outcome of one `SendBatchItem`; `seqs` are in the order of its `messages`. */
export type SendOutcome =
  | { readonly status: 'queued'; readonly seqs: readonly QueuedAt[] }
  | { readonly status: 'duplicate' }
  | {
      readonly status: 'queue-full';
      readonly devices: readonly DeviceAddress[];
      /** 'queue' if any of `devices` has its whole queue full, else 'sender-share'. */
      readonly reason: QueueFullReason;
    };

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
   * recipient device is at a cap (messages, or bytes with this one; for the whole queue or for
   * the sending account's share of it) stores nothing and reports `queue-full`. A shared body is
   * deleted with its last reference (acknowledged or expired).
   */
  enqueue(
    items: readonly SendBatchItem[],
    now: number,
    expiresAt: number,
    caps: QueueCaps,
    /** Acknowledgements removed in the same transaction (one commit, one fsync, per batch). */
    acks?: readonly { account: string; device: number; seqs: readonly number[] }[],
  ): Promise<SendOutcome[]>;
  /** Queued messages for a device with seq > `afterSeq`, oldest first, unexpired at `now`. */
  pending(account: string, device: number, afterSeq: number, limit: number, now: number): Promise<QueuedMessage[]>;
  /** Removes acknowledged messages (only the device's own). */
  acknowledge(acks: readonly { account: string; device: number; seqs: readonly number[] }[]): Promise<void>;
  /**
   * Removes expired messages, old idempotency records, expired link channels and groups left
   * with no listed device; returns how many messages expired.
   */
  purgeExpired(now: number, sendLogBefore: number): Promise<number>;
  queueDepth(account: string, device: number): Promise<number>;
  /** Messages queued for all devices (for metrics). */
  totalQueueDepth(): Promise<number>;
  /** Bytes of message bodies the queues hold, each stored body counted once (for metrics and tests). */
  storedQueueBytes(): Promise<number>;
  /** Everything the queues and the send log hold about `account`, for `parley admin export`. */
  queueRecords(account: string): Promise<QueueRecords>;
}

/** Outcome of storing KeyPackages: the device's count of unused one-time packages either way. */
export type StoreKeyPackagesOutcome =
  | { readonly status: 'stored'; readonly count: number }
  | { readonly status: 'too-many'; readonly count: number };

/** What a KeyPackage fetch takes for one device. */
export interface TakenKeyPackage {
  readonly keyPackage: Uint8Array;
  /** True when the one-time stock was empty and this is the device's reusable package. */
  readonly lastResort: boolean;
  /**
   * One-time packages the device has left after this take, as this take's transaction saw them
   * (concurrent takes not yet committed may still be counted): enough to tell a device to refill.
   */
  readonly remaining: number;
}

/**
 * Who a KeyPackage was handed to, until when: that device may then add the package's device to a
 * group's delivery list (docs/protocol.md §14, "who may be listed").
 */
export interface KeyPackageGrant {
  readonly to: DeviceAddress;
  readonly expiresAt: number;
}

/** MLS KeyPackages (RFC 9420 §10), which play the role one-time prekeys play for 1:1 sessions. */
export interface KeyPackageDirectory {
  /**
   * Adds one-time KeyPackages for a device and, with `lastResort`, replaces its reusable one, in
   * one transaction. Stores nothing and answers `too-many` when the one-time stock would exceed
   * `max`. A package already stored for the device is not stored twice.
   */
  storeKeyPackages(
    account: string,
    device: number,
    packages: { readonly oneTime: readonly Uint8Array[]; readonly lastResort?: Uint8Array | undefined },
    max: number,
  ): Promise<StoreKeyPackagesOutcome>;
  /** Unused one-time KeyPackages of a device, and whether it has a last-resort one. */
  countKeyPackages(account: string, device: number): Promise<{ oneTime: number; lastResort: boolean }>;
  /**
   * Atomically removes and returns the device's oldest one-time KeyPackage, or returns (without
   * removing) its last-resort one when none is left; undefined when it has neither. Two
   * concurrent calls never return the same one-time package.
   */
  takeKeyPackage(
    account: string,
    device: number,
    grant: KeyPackageGrant,
    /** Take no one-time package: the last-resort one is returned (the per-target fetch limit is past). */
    spare?: boolean,
  ): Promise<TakenKeyPackage | undefined>;
}

/** A group's delivery record (the server never sees MLS state, names or roles). */
export interface GroupRecord {
  readonly groupId: string;
  /** Commits accepted so far: the MLS epoch the server believes the group is in. */
  readonly epoch: number;
  /** The devices messages are fanned out to, by account then device id (existing devices only). */
  readonly members: readonly DeviceAddress[];
}

/** A `group-commit` as the store applies it. */
export interface GroupCommit {
  readonly groupId: string;
  /** The epoch the commit was built on; applied only if the stored epoch is still this one. */
  readonly epoch: number;
  readonly sender: string;
  readonly senderDevice: number;
  readonly messageId: string;
  /** The delivery list from the new epoch on (devices that no longer exist are left out). */
  readonly members: readonly DeviceAddress[];
  /** Queued for every device of the old and new lists except the sender's and `welcome.to`. */
  readonly commit: { readonly kind: number; readonly body: Uint8Array };
  /** Queued for each device in `to` (all on `members`). */
  readonly welcome?: { readonly kind: number; readonly body: Uint8Array; readonly to: readonly DeviceAddress[] };
}

/** Where one message of an accepted commit went. */
export interface CommitDelivery extends QueuedAt {
  /** True for the welcome, false for the commit. */
  readonly welcome: boolean;
}

/** The outcome of `commitGroup`. */
export type GroupCommitOutcome =
  | { readonly status: 'committed'; readonly epoch: number; readonly deliveries: readonly CommitDelivery[] }
  | { readonly status: 'duplicate' }
  | { readonly status: 'unknown-group' }
  | { readonly status: 'not-a-member' }
  | { readonly status: 'epoch-moved'; readonly epoch: number }
  | { readonly status: 'not-invited'; readonly devices: readonly DeviceAddress[] }
  | { readonly status: 'queue-full'; readonly devices: readonly DeviceAddress[]; readonly reason: QueueFullReason };

/** Group delivery records: id, epoch counter and device-level delivery list. */
export interface GroupDirectory {
  /** Creates the record at epoch 0 with `creator` as the only listed device. */
  createGroup(groupId: string, creator: DeviceAddress): Promise<'created' | 'exists'>;
  getGroup(groupId: string): Promise<GroupRecord | undefined>;
  /**
   * Applies a commit in one transaction if the group exists, the sender's device is listed, no
   * send of the sender's device used `messageId` yet, and the stored epoch is `commit.epoch`
   * (first wins, also across nodes sharing one database): the epoch advances by one, the list is
   * replaced, the message id is logged and the commit and welcome are queued (each body stored
   * once). A device not on the stored list joins it only if a KeyPackage of it was handed to the
   * committing device and that grant is unexpired at `now` (else `not-invited`); the grant is used
   * up. Queue caps apply to every device on the new list; a device being removed whose queue is
   * full is skipped.
   */
  commitGroup(commit: GroupCommit, now: number, expiresAt: number, caps: QueueCaps): Promise<GroupCommitOutcome>;
  /** The groups an account's devices are listed in, with those devices (for `parley admin export`). */
  groupsOf(account: string): Promise<{ groupId: string; epoch: number; devices: number[] }[]>;
}

/** Everything the relay stores, and closing it. */
/**
 * What a new device publishes on a link channel (docs/protocol.md §13), base64url fields as
 * the frames carry them. Kept in the database so that the existing device may reach any node.
 */
export interface LinkChannelRecord {
  readonly identity: string;
  readonly name: string;
  readonly mac: string;
  readonly expiresAt: number;
}

/** What opening a link channel came to. */
export type LinkChannelOpening = 'opened' | 'in-use' | 'full';

/** Link channels: opened by a new device, answered once by an existing one, gone after. */
export interface LinkChannelDirectory {
  /**
   * Opens channel `id`: `'in-use'` if an unexpired channel has that id, `'full'` if `max`
   * channels are open (so the relay can tell the new device which). An expired channel of the
   * same id is replaced.
   */
  openLinkChannel(id: string, channel: LinkChannelRecord, now: number, max: number): Promise<LinkChannelOpening>;
  /** Channel `id` if it is open, unexpired at `now` and not answered yet. */
  getLinkChannel(id: string, now: number): Promise<LinkChannelRecord | undefined>;
  /** Leaves `body` on channel `id` for the new device; false if it is not open, has expired or was answered. */
  answerLinkChannel(id: string, body: string, now: number): Promise<boolean>;
  /** Removes channel `id`, answered or not (its waiting device is gone). */
  closeLinkChannel(id: string): Promise<void>;
  /** Removes those of channels `ids` that were answered, returning their answers. */
  takeLinkAnswers(ids: readonly string[]): Promise<{ id: string; body: string }[]>;
}

/** An account's current directory value (docs/protocol.md §17.4) with its VRF map key and proof. */
export interface KtValueRow {
  readonly name: string;
  readonly mapKey: Uint8Array;
  readonly vrfProof: Uint8Array;
  readonly version: number;
  readonly accountKey: Uint8Array;
  readonly deviceListHash: Uint8Array;
}

/** One map update an epoch applied, as auditors replay it. */
export interface KtUpdateRow {
  readonly mapKey: Uint8Array;
  readonly valueHash: Uint8Array;
  readonly version: number;
}

/** A stored map node (the `MapNodeStore` shape of @parley/protocol/kt, with its label). */
export type KtNodeRow =
  | { readonly label: string; readonly kind: 'leaf'; readonly key: Uint8Array; readonly valueHash: Uint8Array }
  | {
      readonly label: string;
      readonly kind: 'branch';
      readonly depth: number;
      readonly left: string;
      readonly right: string;
      readonly hash: Uint8Array;
    };

/** Everything one epoch writes, in one transaction. */
export interface KtEpochCommit {
  readonly epoch: number;
  /** The encoded signed tree head. */
  readonly head: Uint8Array;
  /** Pending entries up to this sequence number were folded in (they are deleted). */
  readonly pendingUpTo: number;
  readonly values: readonly (KtValueRow & { readonly valueHash: Uint8Array })[];
  readonly nodes: readonly KtNodeRow[];
  readonly rootLabel: string | undefined;
  /** The writer's lease it must still hold (its node id). */
  readonly writer: string;
}

/**
 * The key-transparency directory (issue 20): the map's nodes, each account's current value,
 * the signed heads and what each epoch applied. One node at a time writes (a lease in the
 * database); every node reads. `createAccount` and `updateDeviceList` enqueue the account in the
 * same transaction (`kt_pending`).
 */
export interface KeyDirectoryStore {
  /**
   * Records the directory's public keys on first use; `mismatch` when others are recorded (a
   * node started with another key file).
   */
  ktRecordKeys(directoryKey: Uint8Array, vrfKey: Uint8Array): Promise<'recorded' | 'match' | 'mismatch'>;
  /** The whole map as stored and the epoch it belongs to (-1: none yet), read consistently. */
  ktLoad(): Promise<{ epoch: number; rootLabel: string | undefined; nodes: KtNodeRow[] }>;
  /** Signed heads of epochs ≥ `from` (at most `limit`), in order. */
  ktHeads(from: number, limit: number): Promise<{ epoch: number; head: Uint8Array }[]>;
  /** The last epoch (-1 when none). */
  ktLastEpoch(): Promise<number>;
  /** The updates epoch `epoch` applied, in map-key order. */
  ktUpdates(epoch: number): Promise<KtUpdateRow[]>;
  /** Pending account names (deduplicated) up to `limit` entries, and the last sequence read. */
  ktPending(limit: number): Promise<{ upTo: number; names: string[] }>;
  /** For each name: its account key and device list now, and its current directory value. */
  ktCandidates(
    names: readonly string[],
  ): Promise<{ name: string; accountKey: Uint8Array; deviceList: Uint8Array; current: KtValueRow | undefined }[]>;
  /** Takes or renews the writer's lease for `writer` (free, expired or already its own). */
  ktClaimWriter(writer: string, now: number, leaseMs: number): Promise<boolean>;
  /** Commits an epoch: `conflict` if the epoch exists or the lease is no longer `writer`'s. */
  ktCommitEpoch(commit: KtEpochCommit): Promise<'committed' | 'conflict'>;
  /** The account's current directory value. */
  ktValue(name: string): Promise<KtValueRow | undefined>;
  /** Keeps a witness's cosignature of an epoch's head (replacing one from the same key). */
  ktAddCosignature(epoch: number, witnessKey: Uint8Array, signature: Uint8Array): Promise<void>;
  ktCosignatures(epoch: number): Promise<{ key: Uint8Array; signature: Uint8Array }[]>;
}

export interface Storage
  extends AccountStore,
    PreKeyDirectory,
    MessageQueue,
    KeyPackageDirectory,
    GroupDirectory,
    LinkChannelDirectory,
    KeyDirectoryStore {
  close(): Promise<void>;
}
