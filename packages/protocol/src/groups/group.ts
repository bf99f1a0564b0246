/**
 * Group state transitions over ts-mls, shaped as state in, state out (docs/protocol.md §14):
 * create, commit a change (adds, removes, metadata), seal and open messages, join from a
 * Welcome, and the stored record of a group.
 *
 * Every commit and message travels as an MLS PrivateMessage, so the server sees neither who
 * was added or removed nor who sent a message. PublicMessages — the only way to carry external
 * proposals or external commits (RFC 9420 §12.1.8, §12.4.3.2) — are refused outright.
 */
import {
  type ClientConfig,
  type ClientState,
  createApplicationMessage,
  createCommit,
  createGroup,
  defaultKeyPackageEqualityConfig,
  defaultKeyRetentionConfig,
  defaultLifetime,
  defaultLifetimeConfig,
  defaultPaddingConfig,
  type EncryptedGroupSecrets,
  type EpochReceiverData,
  type Extension,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackageWithKey,
  type IncomingMessageCallback,
  joinGroup,
  type KeyPackage,
  type PrivateKeyPackage,
  type Proposal,
  processPrivateMessage,
  type Welcome,
  zeroOutUint8Array,
} from 'ts-mls';
import { unprotectPrivateMessage } from 'ts-mls/messageProtection.js';
import { toBase64Url } from '../base64url.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import type { DeviceIdentityKeyPair } from '../keys/identity.ts';
import { ACCOUNT_NAME_PATTERN } from '../relay/frames.ts';
import { GROUP_ID_LENGTH } from './group-id.ts';
import { GROUP_NAME_MAX_LENGTH } from './group-limits.ts';
import {
  credentialFor,
  deviceOfCredential,
  GROUP_META_EXTENSION,
  type GroupDevice,
  groupCapabilities,
  safeDecode,
} from './mls.ts';
import { bindGroupSuite, suiteOf } from './suite.ts';

/** A group's MLS state as ts-mls holds it (plain data; never mutated here). */
export type GroupState = ClientState;

/** The encrypted group metadata: a name and the accounts allowed to change membership. */
export interface GroupMeta {
  readonly name: string;
  readonly admins: readonly string[];
}

/** A member device at a leaf of the ratchet tree. */
export interface GroupLeaf extends GroupDevice {
  readonly leaf: number;
  readonly signingKey: Uint8Array;
}

const MAX_ADMINS = 1000;

/** Encodes metadata as the GroupContext extension's data (UTF-8 JSON, version 1). */
export function encodeGroupMeta(meta: GroupMeta): Uint8Array {
  checkMeta(meta);
  return new TextEncoder().encode(JSON.stringify({ v: 1, name: meta.name, admins: [...meta.admins] }));
}

/** Decodes and validates metadata; a malformed extension is a `MALFORMED_MESSAGE`. */
export function decodeGroupMeta(bytes: Uint8Array): GroupMeta {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ProtocolError('MALFORMED_MESSAGE', 'expected group metadata as JSON');
  }
  const p = parsed as { v?: unknown; name?: unknown; admins?: unknown };
  if (p === null || typeof p !== 'object' || p.v !== 1) {
    throw new ProtocolError('UNKNOWN_VERSION', 'expected version-1 group metadata');
  }
  if (typeof p.name !== 'string' || !Array.isArray(p.admins) || !p.admins.every((a) => typeof a === 'string')) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'expected group metadata with a name and admins');
  }
  const meta = { name: p.name, admins: p.admins as string[] };
  checkMeta(meta);
  return meta;
}

function checkMeta(meta: GroupMeta): void {
  if (meta.name.length === 0 || meta.name.length > GROUP_NAME_MAX_LENGTH) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected a group name of 1-${GROUP_NAME_MAX_LENGTH} characters`);
  }
  if (meta.admins.length === 0 || meta.admins.length > MAX_ADMINS) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected at least one admin');
  }
  if (!meta.admins.every((a) => ACCOUNT_NAME_PATTERN.test(a)) || new Set(meta.admins).size !== meta.admins.length) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected distinct account names as admins');
  }
}

function metaExtension(meta: GroupMeta): Extension {
  return { extensionType: GROUP_META_EXTENSION, extensionData: encodeGroupMeta(meta) };
}

/**
 * True for the `external_senders` GroupContext extension (RFC 9420 §12.1.8.1), which would let
 * someone outside the group propose changes; Parley groups never carry it.
 */
export function isExternalSenders(e: Extension): boolean {
  return e.extensionType === 'external_senders' || e.extensionType === 5;
}

/** The metadata in a group's current context. */
export function groupMetaOf(state: GroupState): GroupMeta {
  const ext = state.groupContext.extensions.find((e) => e.extensionType === GROUP_META_EXTENSION);
  if (ext === undefined) throw new ProtocolError('MALFORMED_MESSAGE', 'the group has no Parley metadata');
  return decodeGroupMeta(ext.extensionData);
}

/**
 * The member device at `leaf` in `tree`, undefined for a blank leaf; a leaf whose credential
 * Parley did not issue is a `MALFORMED_MESSAGE`.
 */
function readLeaf(tree: GroupState['ratchetTree'], leaf: number): GroupLeaf | undefined {
  const node = tree[leaf * 2];
  if (node?.nodeType !== 'leaf') return undefined;
  const named = deviceOfCredential(node.leaf.credential);
  if (named === undefined) throw new ProtocolError('MALFORMED_MESSAGE', 'a group leaf has a foreign credential');
  return { ...named, leaf, signingKey: node.leaf.signaturePublicKey };
}

/** Every member device, in leaf order (a leaf Parley did not issue is a `MALFORMED_MESSAGE`). */
export function groupLeaves(state: GroupState): GroupLeaf[] {
  const leaves: GroupLeaf[] = [];
  for (let leaf = 0; leaf * 2 < state.ratchetTree.length; leaf++) {
    const found = readLeaf(state.ratchetTree, leaf);
    if (found !== undefined) leaves.push(found);
  }
  return leaves;
}

/** The leaf at `leaf`, if occupied (one tree lookup, not a scan). */
export function leafAt(state: GroupState, leaf: number): GroupLeaf | undefined {
  return readLeaf(state.ratchetTree, leaf);
}

/** The group id (16 bytes) and epoch of a state. */
export function groupPosition(state: GroupState): { groupId: string; epoch: number } {
  return { groupId: toBase64Url(state.groupContext.groupId), epoch: Number(state.groupContext.epoch) };
}

/** True once a commit removed this device (the state can then only be deleted). */
export function isRemoved(state: GroupState): boolean {
  return state.groupActiveState.kind !== 'active';
}

/**
 * The ts-mls client configuration Parley uses: `validateCredential` decides whether a leaf's
 * signature key really is the named device's identity key (the client checks it against the
 * account's signed device list). Groups made with this configuration use the cipher suite on
 * `provider` (suite.ts). Everything else is ts-mls's default.
 */
export function groupClientConfig(
  validate: (device: GroupDevice, signingKey: Uint8Array) => Promise<boolean>,
  provider: CryptoProvider,
): ClientConfig {
  const config: ClientConfig = {
    keyRetentionConfig: defaultKeyRetentionConfig,
    lifetimeConfig: defaultLifetimeConfig,
    keyPackageEqualityConfig: defaultKeyPackageEqualityConfig,
    paddingConfig: defaultPaddingConfig,
    authService: {
      async validateCredential(credential, signaturePublicKey) {
        const named = deviceOfCredential(credential);
        return named !== undefined && (await validate(named, signaturePublicKey));
      },
    },
  };
  bindGroupSuite(config, provider);
  return config;
}

/** Starts a group at epoch 0 with this device as its only member. */
export async function createGroupState(params: {
  readonly groupId: Uint8Array;
  readonly identity: DeviceIdentityKeyPair;
  readonly account: string;
  readonly device: number;
  readonly meta: GroupMeta;
  readonly config: ClientConfig;
}): Promise<GroupState> {
  if (params.groupId.length !== GROUP_ID_LENGTH)
    throw new ProtocolError('INVALID_ARGUMENT', `expected a group id of ${GROUP_ID_LENGTH} bytes`);
  const cs = await suiteOf(params.config);
  const own = await generateKeyPackageWithKey(
    credentialFor(params.account, params.device),
    groupCapabilities(),
    defaultLifetime,
    [],
    { signKey: params.identity.signingPrivateKey, publicKey: params.identity.publicIdentity.signingKey },
    cs,
  );
  return wrap('create the group', () =>
    createGroup(params.groupId, own.publicPackage, own.privatePackage, [metaExtension(params.meta)], cs, params.config),
  );
}

/** What one commit changes. */
export interface GroupChange {
  /** Checked KeyPackages of devices to add. */
  readonly add?: readonly KeyPackage[];
  /** Leaf indexes to remove. */
  readonly remove?: readonly number[];
  /** New metadata (name, admins). */
  readonly meta?: GroupMeta;
}

/** A commit ready to submit, and the state to adopt only once the server accepted it. */
export interface PendingCommit {
  readonly state: GroupState;
  readonly commit: Uint8Array;
  readonly welcome?: Uint8Array | undefined;
}

/**
 * Builds a commit (RFC 9420 §12.4) with the change's proposals inline and a path update, as a
 * PrivateMessage; a Welcome carrying the ratchet tree when devices are added.
 */
export async function commitGroupChange(state: GroupState, change: GroupChange): Promise<PendingCommit> {
  const proposals: Proposal[] = [
    ...(change.remove ?? []).map((removed): Proposal => ({ proposalType: 'remove', remove: { removed } })),
    ...(change.add ?? []).map((keyPackage): Proposal => ({ proposalType: 'add', add: { keyPackage } })),
  ];
  if (change.meta !== undefined) {
    const others = state.groupContext.extensions.filter((e) => e.extensionType !== GROUP_META_EXTENSION);
    proposals.push({
      proposalType: 'group_context_extensions',
      groupContextExtensions: { extensions: [...others, metaExtension(change.meta)] },
    });
  }
  const cs = await suiteOf(state.clientConfig);
  const result = await wrap('build the commit', () =>
    createCommit({ state, cipherSuite: cs }, { extraProposals: proposals, ratchetTreeExtension: true }),
  );
  // `result.consumed` is not wiped here: those secrets belong to the state the caller keeps if
  // the server refuses the commit (EPOCH_MOVED), so wiping them would break that state.
  return {
    state: result.newState,
    commit: encodeMlsMessage(result.commit),
    welcome:
      result.welcome === undefined
        ? undefined
        : encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: result.welcome }),
  };
}

/** Encrypts application data for the group: one encryption, whatever the group's size. */
export async function sealGroupMessage(
  state: GroupState,
  data: Uint8Array,
): Promise<{ state: GroupState; message: Uint8Array }> {
  const cs = await suiteOf(state.clientConfig);
  const result = await wrap('encrypt for the group', () => createApplicationMessage(state, data, cs));
  result.consumed.forEach(zeroOutUint8Array);
  return {
    state: result.newState,
    message: encodeMlsMessage({
      version: 'mls10',
      wireformat: 'mls_private_message',
      privateMessage: result.privateMessage,
    }),
  };
}

/** The group id and epoch a PrivateMessage names in its clear header; undefined otherwise. */
export function peekGroupMessage(bytes: Uint8Array): { groupId: string; epoch: number } | undefined {
  const decoded = safeDecode(bytes);
  if (decoded?.wireformat !== 'mls_private_message') return undefined;
  return { groupId: toBase64Url(decoded.privateMessage.groupId), epoch: Number(decoded.privateMessage.epoch) };
}

/** What opening a group message produced. */
export type OpenedGroupMessage =
  | { readonly kind: 'application'; readonly state: GroupState; readonly sender: GroupLeaf; readonly data: Uint8Array }
  | {
      readonly kind: 'commit';
      readonly state: GroupState;
      readonly committer: GroupLeaf;
      readonly previous: GroupState;
    };

/** Decides whether a member's commit is allowed; returns a reason to refuse it, or undefined. */
export type CommitPolicy = (incoming: Parameters<IncomingMessageCallback>[0], state: GroupState) => string | undefined;

/**
 * Opens a group PrivateMessage: an application message (signature and generation checked, key
 * consumed — a replay fails) or a commit, which `policy` must allow before it is applied.
 * Standalone proposals and every other wire format are refused. Errors are `ProtocolError`s
 * and leave `state` untouched (the caller keeps the old state).
 */
export async function openGroupMessage(
  state: GroupState,
  bytes: Uint8Array,
  policy: CommitPolicy,
): Promise<OpenedGroupMessage> {
  const decoded = safeDecode(bytes);
  if (decoded?.wireformat !== 'mls_private_message') {
    throw new ProtocolError('MALFORMED_MESSAGE', 'expected an MLS PrivateMessage');
  }
  const pm = decoded.privateMessage;
  const cs = await suiteOf(state.clientConfig);
  if (pm.contentType === 'application') {
    // ts-mls's processPrivateMessage drops the sender of an application message; the same
    // unprotect step (RFC 9420 §6.3) is run here so the authenticated sender leaf is kept.
    const current = pm.epoch === state.groupContext.epoch;
    const receiver: EpochReceiverData | undefined = current
      ? {
          resumptionPsk: state.keySchedule.resumptionPsk,
          secretTree: state.secretTree,
          ratchetTree: state.ratchetTree,
          senderDataSecret: state.keySchedule.senderDataSecret,
          groupContext: state.groupContext,
        }
      : state.historicalReceiverData.get(pm.epoch);
    if (receiver === undefined) throw new ProtocolError('DECRYPTION_FAILED', 'no keys kept for that epoch');
    const result = await wrap(
      'decrypt the group message',
      () =>
        unprotectPrivateMessage(
          receiver.senderDataSecret,
          pm,
          receiver.secretTree,
          receiver.ratchetTree,
          receiver.groupContext,
          state.clientConfig.keyRetentionConfig,
          cs,
        ),
      // The sender data (leaf, generation) decrypted and authenticated under this epoch's secret,
      // but that generation's key was used already: this exact message was opened before (a
      // redelivery after a lost acknowledgement, or a replay). A duplicate, not a failure.
      (err) =>
        err instanceof Error && err.name === 'ValidationError' && err.message === 'Desired gen in the past'
          ? new ProtocolError('DUPLICATE_MESSAGE', 'this group message was opened before (its key is used up)')
          : undefined,
    );
    const content = result.content.content;
    if (content.contentType !== 'application' || content.sender.senderType !== 'member') {
      throw new ProtocolError('MALFORMED_MESSAGE', 'expected an application message from a member');
    }
    const sender = leafOfTree(receiver.ratchetTree, content.sender.leafIndex);
    result.consumed.forEach(zeroOutUint8Array);
    const next: GroupState = current
      ? { ...state, secretTree: result.tree }
      : {
          ...state,
          historicalReceiverData: new Map(state.historicalReceiverData).set(pm.epoch, {
            ...receiver,
            secretTree: result.tree,
          }),
        };
    return { kind: 'application', state: next, sender, data: content.applicationData };
  }
  if (pm.contentType !== 'commit') throw new ProtocolError('MALFORMED_MESSAGE', 'standalone proposals are not used');
  let refusal: string | undefined;
  let committerLeaf: number | undefined;
  const result = await wrap('apply the commit', () =>
    processPrivateMessage(state, pm, emptyPskIndex, cs, (incoming) => {
      if (incoming.kind === 'commit') committerLeaf = incoming.senderLeafIndex;
      refusal = incoming.kind !== 'commit' ? 'standalone proposals are not used' : policy(incoming, state);
      return refusal === undefined ? 'accept' : 'reject';
    }),
  );
  if (refusal !== undefined) throw new ProtocolError('UNAUTHORIZED_CHANGE', refusal);
  if (result.kind !== 'newState' || committerLeaf === undefined) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'expected a commit from a member');
  }
  result.consumed.forEach(zeroOutUint8Array);
  return {
    kind: 'commit',
    state: result.newState,
    committer: leafOfTree(state.ratchetTree, committerLeaf),
    previous: state,
  };
}

function leafOfTree(tree: GroupState['ratchetTree'], leaf: number): GroupLeaf {
  const found = readLeaf(tree, leaf);
  if (found === undefined) throw new ProtocolError('MALFORMED_MESSAGE', 'the sender leaf is empty');
  return found;
}

/** A decoded Welcome and the KeyPackageRefs (base64url) it has secrets for. */
export function readWelcome(bytes: Uint8Array): { welcome: Welcome; refs: string[] } {
  const decoded = safeDecode(bytes);
  if (decoded?.wireformat !== 'mls_welcome') throw new ProtocolError('MALFORMED_MESSAGE', 'expected an MLS Welcome');
  return {
    welcome: decoded.welcome,
    refs: decoded.welcome.secrets.map((s: EncryptedGroupSecrets) => toBase64Url(s.newMember)),
  };
}

/**
 * Joins from a Welcome (RFC 9420 §12.4.3.1) with one of this device's KeyPackages; every leaf
 * of the carried tree passes `config`'s credential check, and the group must carry metadata.
 */
export async function joinFromWelcome(
  welcome: Welcome,
  keyPackage: KeyPackage,
  privateKeys: PrivateKeyPackage,
  config: ClientConfig,
): Promise<GroupState> {
  const cs = await suiteOf(config);
  const state = await wrap('join from the welcome', () =>
    joinGroup(welcome, keyPackage, privateKeys, emptyPskIndex, cs, undefined, undefined, config),
  );
  groupMetaOf(state);
  groupLeaves(state);
  if (state.groupContext.extensions.some(isExternalSenders)) {
    throw new ProtocolError('UNAUTHORIZED_CHANGE', 'the group lets external senders propose');
  }
  return state;
}

async function wrap<T>(
  step: string,
  run: () => Promise<T>,
  classify?: (err: unknown) => ProtocolError | undefined,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    const known = classify?.(err);
    if (known !== undefined) throw known;
    throw new ProtocolError('INVALID_GROUP_MESSAGE', `could not ${step}`, { cause: err });
  }
}
