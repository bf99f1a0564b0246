/**
 * Ratchet message codec (docs/protocol.md §4, `RatchetMessage` and `RatchetHeader` in
 * parley.proto). The header is encoded on its own so its exact bytes can be authenticated as
 * AEAD associated data (Double Ratchet §3.4 "AD ‖ header").
 */

import { MESSAGE_TYPE, openEnvelope, WIRE_VERSION } from './envelope.ts';
import { decodeFields, encodeFields, type FieldSpec, withEnvelope } from './proto.ts';

/** Bound on a ratchet message's ciphertext (plaintext + 16-byte tag). */
export const MAX_CIPHERTEXT_LENGTH = 256 * 1024;

/** The Double Ratchet header: sender's ratchet key, message number N, previous chain length PN. */
export interface RatchetHeader {
  readonly ratchetKey: Uint8Array;
  readonly counter: number;
  readonly previousCounter: number;
}

/** A decoded ratchet message; `headerBytes` are the exact header bytes received. */
export interface RatchetMessage {
  readonly header: RatchetHeader;
  readonly headerBytes: Uint8Array;
  readonly ciphertext: Uint8Array;
}

const HEADER: readonly FieldSpec[] = [
  { no: 1, name: 'ratchetKey', kind: 'bytes', length: 32 },
  { no: 2, name: 'counter', kind: 'uint32' },
  { no: 3, name: 'previousCounter', kind: 'uint32' },
];
const MESSAGE: readonly FieldSpec[] = [
  { no: 1, name: 'header', kind: 'bytes', length: [34, 48] },
  { no: 2, name: 'ciphertext', kind: 'bytes', length: [16, MAX_CIPHERTEXT_LENGTH] },
];
const AD_PREFIX = new Uint8Array([WIRE_VERSION, MESSAGE_TYPE.ratchet]);

/** Encodes a header (protobuf only, no envelope). */
export function encodeRatchetHeader(header: RatchetHeader): Uint8Array {
  return encodeFields({ ...header }, HEADER, 'RatchetHeader');
}

/** The bytes a header contributes to the AEAD associated data: envelope ‖ header. */
export function ratchetHeaderAssociatedData(headerBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(headerBytes.length + 2);
  out.set(AD_PREFIX, 0);
  out.set(headerBytes, 2);
  return out;
}

/** Encodes a ratchet message with its envelope. */
export function encodeRatchetMessage(message: { headerBytes: Uint8Array; ciphertext: Uint8Array }): Uint8Array {
  const body = encodeFields({ header: message.headerBytes, ciphertext: message.ciphertext }, MESSAGE, 'RatchetMessage');
  return withEnvelope(WIRE_VERSION, MESSAGE_TYPE.ratchet, body);
}

/** Strictly decodes a ratchet message (envelope, body and nested header). */
export function decodeRatchetMessage(bytes: Uint8Array): RatchetMessage {
  const body = decodeFields(openEnvelope(bytes, 'ratchet'), MESSAGE, 'RatchetMessage');
  const headerBytes = body.header as Uint8Array;
  const h = decodeFields(headerBytes, HEADER, 'RatchetHeader');
  return {
    header: {
      ratchetKey: h.ratchetKey as Uint8Array,
      counter: h.counter as number,
      previousCounter: h.previousCounter as number,
    },
    headerBytes,
    ciphertext: body.ciphertext as Uint8Array,
  };
}
