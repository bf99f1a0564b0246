/**
 * Session record storage encoding: a version byte, then each session state as a strict
 * protobuf message (`SessionStateRecord` in parley.proto). Skipped keys and previous ratchet
 * keys are packed as fixed-size entries in one bytes field each.
 */
import { concatBytes, u32be } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import type { SessionState, SkippedKey } from '../ratchet/state.ts';
import { MAX_PREVIOUS_RATCHET_KEYS, MAX_SKIPPED_KEYS } from '../ratchet/state.ts';
import { decodeFields, encodeFields, type FieldSpec } from '../wire/proto.ts';
import type { SessionRecord } from './record.ts';
import { MAX_PREVIOUS_SESSIONS } from './record.ts';

const RECORD_VERSION = 1;
const SKIPPED_ENTRY = 68;

const STATE: readonly FieldSpec[] = [
  { no: 1, name: 'localIdentity', kind: 'bytes', length: 128 },
  { no: 2, name: 'remoteIdentity', kind: 'bytes', length: 128 },
  { no: 3, name: 'associatedData', kind: 'bytes', length: 256 },
  { no: 4, name: 'baseKey', kind: 'bytes', length: 32 },
  { no: 5, name: 'initiator', kind: 'bool' },
  { no: 6, name: 'rootKey', kind: 'bytes', length: 32 },
  { no: 7, name: 'sendingPublic', kind: 'bytes', length: 32 },
  { no: 8, name: 'sendingPrivate', kind: 'bytes', length: 32 },
  { no: 9, name: 'sendingChainKey', kind: 'bytes', length: 32, optional: true },
  { no: 10, name: 'sendingIndex', kind: 'uint32' },
  { no: 11, name: 'receivingRatchetKey', kind: 'bytes', length: 32, optional: true },
  { no: 12, name: 'receivingChainKey', kind: 'bytes', length: 32, optional: true },
  { no: 13, name: 'receivingIndex', kind: 'uint32' },
  { no: 14, name: 'previousCounter', kind: 'uint32' },
  { no: 15, name: 'previousRatchetKeys', kind: 'bytes', length: [0, 32 * MAX_PREVIOUS_RATCHET_KEYS], optional: true },
  { no: 16, name: 'skippedKeys', kind: 'bytes', length: [0, SKIPPED_ENTRY * MAX_SKIPPED_KEYS], optional: true },
  { no: 17, name: 'pendingRecipient', kind: 'bytes', length: 32, optional: true },
  { no: 18, name: 'pendingSignedPreKeyId', kind: 'uint32', optional: true },
  { no: 19, name: 'pendingOneTimePreKeyId', kind: 'uint32', optional: true },
  { no: 20, name: 'pendingKemPreKeyId', kind: 'uint32', optional: true },
  { no: 21, name: 'pendingKemCiphertext', kind: 'bytes', length: 1568, optional: true },
];

function malformed(what: string): never {
  throw new ProtocolError('MALFORMED_MESSAGE', `SessionRecord: ${what}`);
}

function encodeState(s: SessionState): Uint8Array {
  const skipped = concatBytes(...s.skippedKeys.flatMap((k) => [k.ratchetKey, u32be(k.index), k.messageKey]));
  const p = s.pendingInitial;
  return encodeFields(
    {
      localIdentity: s.localIdentity,
      remoteIdentity: s.remoteIdentity,
      associatedData: s.associatedData,
      baseKey: s.baseKey,
      initiator: s.initiator,
      rootKey: s.rootKey,
      sendingPublic: s.sendingRatchetKey.publicKey,
      sendingPrivate: s.sendingRatchetKey.privateKey,
      sendingChainKey: s.sendingChain?.chainKey,
      sendingIndex: s.sendingChain?.index ?? 0,
      receivingRatchetKey: s.receivingChain?.ratchetKey,
      receivingChainKey: s.receivingChain?.chainKey,
      receivingIndex: s.receivingChain?.index ?? 0,
      previousCounter: s.previousCounter,
      previousRatchetKeys: s.previousRatchetKeys.length > 0 ? concatBytes(...s.previousRatchetKeys) : undefined,
      skippedKeys: s.skippedKeys.length > 0 ? skipped : undefined,
      pendingRecipient: p?.recipientSigningKey,
      pendingSignedPreKeyId: p?.signedPreKeyId,
      pendingOneTimePreKeyId: p?.oneTimePreKeyId,
      pendingKemPreKeyId: p?.kemPreKeyId,
      pendingKemCiphertext: p?.kemCiphertext,
    },
    STATE,
    'SessionState',
  );
}

function decodeState(bytes: Uint8Array): SessionState {
  const f = decodeFields(bytes, STATE, 'SessionState');
  const prev = (f.previousRatchetKeys as Uint8Array | undefined) ?? new Uint8Array(0);
  const skippedBytes = (f.skippedKeys as Uint8Array | undefined) ?? new Uint8Array(0);
  if (prev.length % 32 !== 0) malformed('previous ratchet keys length');
  if (skippedBytes.length % SKIPPED_ENTRY !== 0) malformed('skipped keys length');
  const previousRatchetKeys: Uint8Array[] = [];
  for (let i = 0; i < prev.length; i += 32) previousRatchetKeys.push(prev.slice(i, i + 32));
  const skippedKeys: SkippedKey[] = [];
  const view = new DataView(skippedBytes.buffer, skippedBytes.byteOffset, skippedBytes.byteLength);
  for (let i = 0; i < skippedBytes.length; i += SKIPPED_ENTRY) {
    skippedKeys.push({
      ratchetKey: skippedBytes.slice(i, i + 32),
      index: view.getUint32(i + 32, false),
      messageKey: skippedBytes.slice(i + 36, i + 68),
    });
  }
  const hasSending = f.sendingChainKey !== undefined;
  const hasReceiving = f.receivingRatchetKey !== undefined;
  if (hasReceiving !== (f.receivingChainKey !== undefined)) malformed('incomplete receiving chain');
  const pendingParts = [f.pendingRecipient, f.pendingSignedPreKeyId, f.pendingKemPreKeyId, f.pendingKemCiphertext];
  const pendingCount = pendingParts.filter((x) => x !== undefined).length;
  if (pendingCount !== 0 && pendingCount !== 4) malformed('incomplete pending initial message');
  return {
    version: 1,
    localIdentity: f.localIdentity as Uint8Array,
    remoteIdentity: f.remoteIdentity as Uint8Array,
    associatedData: f.associatedData as Uint8Array,
    baseKey: f.baseKey as Uint8Array,
    initiator: f.initiator as boolean,
    rootKey: f.rootKey as Uint8Array,
    sendingRatchetKey: { publicKey: f.sendingPublic as Uint8Array, privateKey: f.sendingPrivate as Uint8Array },
    sendingChain: hasSending
      ? { chainKey: f.sendingChainKey as Uint8Array, index: f.sendingIndex as number }
      : undefined,
    receivingChain: hasReceiving
      ? {
          ratchetKey: f.receivingRatchetKey as Uint8Array,
          chainKey: f.receivingChainKey as Uint8Array,
          index: f.receivingIndex as number,
        }
      : undefined,
    previousCounter: f.previousCounter as number,
    previousRatchetKeys,
    skippedKeys,
    pendingInitial:
      pendingCount === 4
        ? {
            recipientSigningKey: f.pendingRecipient as Uint8Array,
            signedPreKeyId: f.pendingSignedPreKeyId as number,
            oneTimePreKeyId: f.pendingOneTimePreKeyId as number | undefined,
            kemPreKeyId: f.pendingKemPreKeyId as number,
            baseKey: f.baseKey as Uint8Array,
            kemCiphertext: f.pendingKemCiphertext as Uint8Array,
          }
        : undefined,
  };
}

/** Encodes a session record: version byte, count, then length-prefixed states (current first). */
export function encodeSessionRecord(record: SessionRecord): Uint8Array {
  const states = record.current ? [record.current, ...record.previous] : [];
  const parts: Uint8Array[] = [new Uint8Array([RECORD_VERSION, states.length])];
  for (const s of states) {
    const bytes = encodeState(s);
    parts.push(u32be(bytes.length), bytes);
  }
  return concatBytes(...parts);
}

/** Strictly decodes a session record; unknown versions are `UNKNOWN_VERSION`. */
export function decodeSessionRecord(bytes: Uint8Array): SessionRecord {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2) malformed('too short');
  if (bytes[0] !== RECORD_VERSION) throw new ProtocolError('UNKNOWN_VERSION', 'unknown session record version');
  const count = bytes[1] as number;
  if (count > MAX_PREVIOUS_SESSIONS + 1) malformed('too many states');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const states: SessionState[] = [];
  let pos = 2;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > bytes.length) malformed('truncated');
    const len = view.getUint32(pos, false);
    pos += 4;
    if (pos + len > bytes.length) malformed('truncated state');
    states.push(decodeState(bytes.subarray(pos, pos + len)));
    pos += len;
  }
  if (pos !== bytes.length) malformed('trailing bytes');
  const [current, ...previous] = states;
  return { version: 1, current, previous };
}
