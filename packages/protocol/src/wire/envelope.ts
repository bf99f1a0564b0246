/**
 * The two-byte envelope in front of every Parley protocol message: version, then type
 * (docs/protocol.md §4). Unknown versions are `UNKNOWN_VERSION`; unknown types `MALFORMED_MESSAGE`.
 */
import { ProtocolError } from '../errors.ts';

/** The only wire version this build speaks. */
export const WIRE_VERSION = 1;

/** Type bytes of the protocol messages. */
export const MESSAGE_TYPE = { ratchet: 1, initial: 2, preKeyBundle: 3 } as const;

/** A protocol message type name. */
export type MessageTypeName = keyof typeof MESSAGE_TYPE;

/** Validates the envelope and returns the message type without decoding the body. */
export function peekMessageType(bytes: Uint8Array): MessageTypeName {
  if (!(bytes instanceof Uint8Array) || bytes.length < 2) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'message shorter than its envelope');
  }
  if (bytes[0] !== WIRE_VERSION) throw new ProtocolError('UNKNOWN_VERSION', `unknown wire version ${bytes[0]}`);
  switch (bytes[1]) {
    case MESSAGE_TYPE.ratchet:
      return 'ratchet';
    case MESSAGE_TYPE.initial:
      return 'initial';
    case MESSAGE_TYPE.preKeyBundle:
      return 'preKeyBundle';
    default:
      throw new ProtocolError('MALFORMED_MESSAGE', 'unknown message type');
  }
}

/** Checks that `bytes` is a `type` message and returns its body. */
export function openEnvelope(bytes: Uint8Array, type: MessageTypeName): Uint8Array {
  if (peekMessageType(bytes) !== type) throw new ProtocolError('MALFORMED_MESSAGE', `expected a ${type} message`);
  return bytes.subarray(2);
}
