/**
 * Initial (PQXDH) message codec (PQXDH §3.3 "initial message"; `InitialMessage` in parley.proto).
 */
import { MLKEM_CIPHERTEXT_LENGTH } from '../crypto/provider.ts';
import { MESSAGE_TYPE, openEnvelope, WIRE_VERSION } from './envelope.ts';
import { decodeFields, encodeFields, type FieldSpec, withEnvelope } from './proto.ts';
import { decodeRatchetMessage, MAX_CIPHERTEXT_LENGTH } from './ratchet-message.ts';

/** What the initiator sends until the responder's first reply. */
export interface InitialMessage {
  /** Encoded DeviceIdentityPublic of the sender (128 bytes). */
  readonly senderIdentity: Uint8Array;
  /** The recipient device's identity signing key, so a misdelivered message is refused. */
  readonly recipientSigningKey: Uint8Array;
  readonly signedPreKeyId: number;
  readonly oneTimePreKeyId: number | undefined;
  readonly kemPreKeyId: number;
  /** The initiator's ephemeral X25519 key EK_A. */
  readonly baseKey: Uint8Array;
  readonly kemCiphertext: Uint8Array;
  /** An encoded ratchet message. */
  readonly message: Uint8Array;
}

const SCHEMA: readonly FieldSpec[] = [
  { no: 1, name: 'senderIdentity', kind: 'bytes', length: 128 },
  { no: 2, name: 'recipientSigningKey', kind: 'bytes', length: 32 },
  { no: 3, name: 'signedPreKeyId', kind: 'uint32' },
  { no: 4, name: 'oneTimePreKeyId', kind: 'uint32', optional: true },
  { no: 5, name: 'kemPreKeyId', kind: 'uint32' },
  { no: 6, name: 'baseKey', kind: 'bytes', length: 32 },
  { no: 7, name: 'kemCiphertext', kind: 'bytes', length: MLKEM_CIPHERTEXT_LENGTH },
  { no: 8, name: 'message', kind: 'bytes', length: [2, MAX_CIPHERTEXT_LENGTH + 64] },
];

/** Encodes an initial message with its envelope. */
export function encodeInitialMessage(m: InitialMessage): Uint8Array {
  return withEnvelope(WIRE_VERSION, MESSAGE_TYPE.initial, encodeFields({ ...m }, SCHEMA, 'InitialMessage'));
}

/** Strictly decodes an initial message; the embedded ratchet message is validated too. */
export function decodeInitialMessage(bytes: Uint8Array): InitialMessage {
  const f = decodeFields(openEnvelope(bytes, 'initial'), SCHEMA, 'InitialMessage');
  decodeRatchetMessage(f.message as Uint8Array);
  return {
    senderIdentity: f.senderIdentity as Uint8Array,
    recipientSigningKey: f.recipientSigningKey as Uint8Array,
    signedPreKeyId: f.signedPreKeyId as number,
    oneTimePreKeyId: f.oneTimePreKeyId as number | undefined,
    kemPreKeyId: f.kemPreKeyId as number,
    baseKey: f.baseKey as Uint8Array,
    kemCiphertext: f.kemCiphertext as Uint8Array,
    message: f.message as Uint8Array,
  };
}
