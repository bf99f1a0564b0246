/**
 * Prekey bundle codec (PQXDH §3.2 "publishing keys"; `PreKeyBundle` in parley.proto). The KEM
 * prekey is optional on the wire so that a downgraded bundle decodes and PQXDH can refuse it
 * with `MISSING_PQ_PREKEY` rather than a generic decode error.
 */
import { MLKEM_PUBLIC_KEY_LENGTH } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import { MESSAGE_TYPE, openEnvelope, WIRE_VERSION } from './envelope.ts';
import { decodeFields, encodeFields, type FieldSpec, withEnvelope } from './proto.ts';

/**
 * One device's published keys as served by the directory. `createdAt` is the key's signed
 * creation time in whole Unix seconds (docs/protocol.md §1.1).
 */
export interface PreKeyBundle {
  readonly identity: Uint8Array;
  readonly signedPreKey: {
    readonly id: number;
    readonly publicKey: Uint8Array;
    readonly signature: Uint8Array;
    readonly createdAt: number;
  };
  readonly oneTimePreKey?: { readonly id: number; readonly publicKey: Uint8Array } | undefined;
  readonly kemPreKey?:
    | {
        readonly id: number;
        readonly publicKey: Uint8Array;
        readonly signature: Uint8Array;
        readonly lastResort: boolean;
        readonly createdAt: number;
      }
    | undefined;
}

const SCHEMA: readonly FieldSpec[] = [
  { no: 1, name: 'identity', kind: 'bytes', length: 128 },
  { no: 2, name: 'signedPreKeyId', kind: 'uint32' },
  { no: 3, name: 'signedPreKey', kind: 'bytes', length: 32 },
  { no: 4, name: 'signedPreKeySignature', kind: 'bytes', length: 64 },
  { no: 5, name: 'oneTimePreKeyId', kind: 'uint32', optional: true },
  { no: 6, name: 'oneTimePreKey', kind: 'bytes', length: 32, optional: true },
  { no: 7, name: 'kemPreKeyId', kind: 'uint32', optional: true },
  { no: 8, name: 'kemPreKey', kind: 'bytes', length: MLKEM_PUBLIC_KEY_LENGTH, optional: true },
  { no: 9, name: 'kemPreKeySignature', kind: 'bytes', length: 64, optional: true },
  { no: 10, name: 'kemLastResort', kind: 'bool' },
  { no: 11, name: 'signedPreKeyCreatedAt', kind: 'uint32' },
  { no: 12, name: 'kemPreKeyCreatedAt', kind: 'uint32', optional: true },
];

/** Encodes a bundle with its envelope. */
export function encodePreKeyBundle(b: PreKeyBundle): Uint8Array {
  const values = {
    identity: b.identity,
    signedPreKeyId: b.signedPreKey.id,
    signedPreKey: b.signedPreKey.publicKey,
    signedPreKeySignature: b.signedPreKey.signature,
    oneTimePreKeyId: b.oneTimePreKey?.id,
    oneTimePreKey: b.oneTimePreKey?.publicKey,
    kemPreKeyId: b.kemPreKey?.id,
    kemPreKey: b.kemPreKey?.publicKey,
    kemPreKeySignature: b.kemPreKey?.signature,
    kemLastResort: b.kemPreKey?.lastResort ?? false,
    signedPreKeyCreatedAt: b.signedPreKey.createdAt,
    kemPreKeyCreatedAt: b.kemPreKey?.createdAt,
  };
  return withEnvelope(WIRE_VERSION, MESSAGE_TYPE.preKeyBundle, encodeFields(values, SCHEMA, 'PreKeyBundle'));
}

/** Strictly decodes a bundle; the optional parts must be complete or absent. */
export function decodePreKeyBundle(bytes: Uint8Array): PreKeyBundle {
  const f = decodeFields(openEnvelope(bytes, 'preKeyBundle'), SCHEMA, 'PreKeyBundle');
  const hasOtp = f.oneTimePreKeyId !== undefined;
  if (hasOtp !== (f.oneTimePreKey !== undefined)) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'PreKeyBundle.oneTimePreKey incomplete');
  }
  const kemParts = [f.kemPreKeyId, f.kemPreKey, f.kemPreKeySignature, f.kemPreKeyCreatedAt].filter(
    (x) => x !== undefined,
  ).length;
  if (kemParts !== 0 && kemParts !== 4) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'PreKeyBundle.kemPreKey incomplete');
  }
  if (kemParts === 0 && f.kemLastResort === true) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'PreKeyBundle.kemLastResort without key');
  }
  return {
    identity: f.identity as Uint8Array,
    signedPreKey: {
      id: f.signedPreKeyId as number,
      publicKey: f.signedPreKey as Uint8Array,
      signature: f.signedPreKeySignature as Uint8Array,
      createdAt: f.signedPreKeyCreatedAt as number,
    },
    oneTimePreKey: hasOtp ? { id: f.oneTimePreKeyId as number, publicKey: f.oneTimePreKey as Uint8Array } : undefined,
    kemPreKey:
      kemParts === 4
        ? {
            id: f.kemPreKeyId as number,
            publicKey: f.kemPreKey as Uint8Array,
            signature: f.kemPreKeySignature as Uint8Array,
            lastResort: f.kemLastResort as boolean,
            createdAt: f.kemPreKeyCreatedAt as number,
          }
        : undefined,
  };
}
