/**
 * Stored records of a group's state (docs/protocol.md §14.5): the whole state (version 1), or
 * the state without its ratchet tree (version 2) beside a record of the tree, so that a large
 * group's tree is rewritten only when a commit changes it.
 */
import { type ClientConfig, decodeGroupState, encodeGroupState } from 'ts-mls';
import { decodeRatchetTree, encodeRatchetTree } from 'ts-mls/ratchetTree.js';
import { ProtocolError } from '../errors.ts';
import type { GroupState } from './group.ts';

const FULL_RECORD = 1;
const RECORD_WITHOUT_TREE = 2;
const TREE_RECORD = 1;

/** Encodes a group state for storage, ratchet tree included (ts-mls's codec behind version 1). */
export function encodeGroupRecord(state: GroupState): Uint8Array {
  return versioned(FULL_RECORD, encodeGroupState(state));
}

/**
 * Encodes a group state without its ratchet tree (version 2), to be stored beside the tree's
 * own record (`encodeGroupTree`). The tree is most of a large group's state and nearly all of
 * the time to encode it (at 1,000 members 144 of 151 ms), yet only commits change it: a client
 * rewrites it only when `groupContext.treeHash` changed, not after every message.
 */
export function encodeGroupRecordWithoutTree(state: GroupState): Uint8Array {
  // ts-mls's codec refuses an empty tree; any one non-blank node stands in for it and is
  // replaced by the stored tree when decoding.
  const node = state.ratchetTree.find((n) => n !== undefined);
  if (node === undefined) throw new ProtocolError('INTERNAL', 'a group state without a ratchet tree');
  return versioned(RECORD_WITHOUT_TREE, encodeGroupState({ ...state, ratchetTree: [node] }));
}

/** Encodes a group state's ratchet tree (RFC 9420 §12.4.3.3 encoding behind version 1). */
export function encodeGroupTree(state: GroupState): Uint8Array {
  return versioned(TREE_RECORD, encodeRatchetTree(state.ratchetTree));
}

/**
 * Decodes a stored group state and attaches the client configuration. A version-2 record needs
 * the tree record saved with it; a version-1 record carries its own tree.
 */
export function decodeGroupRecord(record: Uint8Array, config: ClientConfig, tree?: Uint8Array): GroupState {
  const version = record[0];
  if (version !== FULL_RECORD && version !== RECORD_WITHOUT_TREE) {
    throw new ProtocolError('UNKNOWN_VERSION', 'expected a version-1 or version-2 group record');
  }
  const decoded = fullyDecoded(() => decodeGroupState(record.subarray(1), 0), record.length - 1);
  if (decoded === undefined) throw new ProtocolError('MALFORMED_MESSAGE', 'the group record does not decode');
  if (version === FULL_RECORD) return { ...decoded, clientConfig: config };
  if (tree === undefined) throw new ProtocolError('INVALID_ARGUMENT', 'expected the tree record of the group');
  if (tree[0] !== TREE_RECORD) throw new ProtocolError('UNKNOWN_VERSION', 'expected a version-1 tree record');
  const ratchetTree = fullyDecoded(() => decodeRatchetTree(tree.subarray(1), 0), tree.length - 1);
  if (ratchetTree === undefined) throw new ProtocolError('MALFORMED_MESSAGE', 'the tree record does not decode');
  return { ...decoded, ratchetTree, clientConfig: config };
}

function versioned(version: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = version;
  out.set(body, 1);
  return out;
}

/** A ts-mls decoder's value if it read exactly `length` bytes; undefined if not or if it threw. */
function fullyDecoded<T>(read: () => [T, number] | undefined, length: number): T | undefined {
  try {
    const result = read();
    return result !== undefined && result[1] === length ? result[0] : undefined;
  } catch {
    // ts-mls throws, rather than returning undefined, for some malformed input.
    return undefined;
  }
}
