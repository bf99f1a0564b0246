/**
 * `@parley/protocol`: the pure protocol core. No I/O, no clock, no ambient randomness:
 * hosts inject a `CryptoProvider` and a `RandomSource`. This file is the package's public entry
 * point, every export named (the committed report `api/index.api.md` lists them with their
 * types). It imports no Node.js module: Node hosts take their provider and randomness from
 * `@parley/protocol/node` (`node.ts`), browsers use `createWebCryptoProvider`. Groups (MLS, and
 * with it ts-mls) are `@parley/protocol/groups` (`groups.ts`), so a host that needs no group
 * never loads them.
 */

export { FALLBACK_FILE_NAME, FILE_NAME_MAX_BYTES, sanitizeFileName } from './attachments/file-name.ts';
export { createSha256Hasher } from './attachments/hasher.ts';
export { padme } from './attachments/padme.ts';
export {
  ATTACHMENT_POINTER_VERSION,
  type AttachmentPointer,
  type AttachmentThumbnail,
  BLOB_ID_LENGTH,
  decodeAttachmentPointer,
  encodeAttachmentPointer,
  THUMBNAIL_MAX_BYTES,
} from './attachments/pointer.ts';
export {
  ATTACHMENT_BLOB_VERSION,
  ATTACHMENT_CHUNK_SIZE,
  ATTACHMENT_FORMAT_MAX_SIZE,
  ATTACHMENT_HEADER_LENGTH,
  ATTACHMENT_NONCE_PREFIX_LENGTH,
  type AttachmentOpenParams,
  type AttachmentSecrets,
  attachmentBlobSize,
  attachmentChunkCount,
  attachmentChunkNonce,
  attachmentCiphertextLength,
  generateAttachmentSecrets,
  openAttachment,
  rechunk,
  type SealedAttachment,
  sealAttachment,
} from './attachments/stream-aead.ts';
export { fromBase64Url, portableBase64Url, toBase64Url } from './base64url.ts';
export {
  assertBytes,
  compareBytes,
  concatBytes,
  constantTimeEqual,
  copyBytes,
  isAllZero,
  plainBytes,
  u32be,
  utf8,
} from './bytes.ts';
export {
  AES_256_KEY_LENGTH,
  AES_GCM_NONCE_LENGTH,
  AES_GCM_TAG_LENGTH,
  type CryptoProvider,
  ED25519_PUBLIC_KEY_LENGTH,
  ED25519_SEED_LENGTH,
  ED25519_SIGNATURE_LENGTH,
  type KemKeyPair,
  MLKEM_CIPHERTEXT_LENGTH,
  MLKEM_ENCAPS_SEED_LENGTH,
  MLKEM_KEYGEN_SEED_LENGTH,
  MLKEM_PUBLIC_KEY_LENGTH,
  MLKEM_SECRET_KEY_LENGTH,
  MLKEM_SHARED_SECRET_LENGTH,
  type Sha256Hasher,
  X25519_KEY_LENGTH,
} from './crypto/provider.ts';
export { createWebCryptoProvider } from './crypto/webcrypto-provider.ts';
export { isProtocolError, ProtocolError, type ProtocolErrorCode } from './errors.ts';
export { GROUP_ID_LENGTH } from './groups/group-id.ts';
export { GROUP_NAME_MAX_LENGTH } from './groups/group-limits.ts';
export { type GroupProtocol, loadGroupProtocol } from './groups/load-groups.ts';
export {
  type DeviceListEntry,
  decodeSignedDeviceList,
  deviceListBytes,
  encodeSignedDeviceList,
  MAX_DEVICES,
  type SignedDeviceList,
  signDeviceList,
  verifyDeviceList,
} from './keys/device-list.ts';
export {
  type AccountIdentityKeyPair,
  DEVICE_IDENTITY_PUBLIC_LENGTH,
  type DeviceIdentityKeyPair,
  type DeviceIdentityPublic,
  decodeDeviceIdentityPublic,
  encodeDeviceIdentityPublic,
  generateAccountIdentity,
  generateDeviceIdentity,
  verifyDeviceIdentityPublic,
} from './keys/identity.ts';
export {
  checkPreKeyAge,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  type KemPreKeyRecord,
  MAX_PREKEY_AGE_MS,
  MAX_PREKEY_CLOCK_SKEW_MS,
  type OneTimePreKeyRecord,
  preKeySeconds,
  type SignedPreKeyRecord,
  verifyKemPreKey,
  verifySignedPreKey,
} from './keys/prekeys.ts';
export { type DhKeyPair, generateDhKeyPair, randomSecret } from './keys/random-key.ts';
export {
  decodeAccountIdentityRecord,
  decodeDeviceIdentityRecord,
  decodeKemPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodeSignedPreKeyRecord,
  encodeAccountIdentityRecord,
  encodeDeviceIdentityRecord,
  encodeKemPreKeyRecord,
  encodeOneTimePreKeyRecord,
  encodeSignedPreKeyRecord,
} from './keys/records.ts';
export {
  createLinkCode,
  decodeLinkCode,
  encodeLinkCode,
  LINK_CHANNEL_LENGTH,
  LINK_OFFER_MAC_LENGTH,
  type LinkCode,
  linkOfferMac,
  openLinkPayload,
  sealLinkPayload,
  verifyLinkOffer,
} from './linking/link-channel.ts';
export { initiate, type PreKeyAgeCheck, type ResponderPreKeys, respond } from './pqxdh/pqxdh.ts';
export type { RandomSource } from './random.ts';
export { initReceiver, initSender, ratchetDecrypt, ratchetEncrypt } from './ratchet/ratchet.ts';
export {
  MAX_PREVIOUS_RATCHET_KEYS,
  MAX_SKIP_PER_CHAIN,
  MAX_SKIPPED_KEYS,
  type PendingInitial,
  type ReceivingChain,
  type SendingChain,
  type SessionState,
  type SkippedKey,
} from './ratchet/state.ts';
export {
  BLOB_PATH,
  type BlobErrorBody,
  type BlobErrorCode,
  type BlobSlot,
  MAX_UPLOAD_REQUEST_BYTES,
  readBlobErrorBody,
  UPLOAD_CONTENT_TYPE,
  UPLOAD_LENGTH_HEADER,
  UPLOAD_OFFSET_HEADER,
} from './relay/blob-api.ts';
export {
  ACCOUNT_NAME_CHARACTERS,
  ACCOUNT_NAME_MAX_LENGTH,
  ACCOUNT_NAME_MIN_LENGTH,
  ACCOUNT_NAME_PATTERN,
  AUTH_NONCE_LENGTH,
  accountNameSkeleton,
  authSignedBytes,
  type ClientFrame,
  type DeliveryKind,
  deleteAccountSignedBytes,
  type KeyCounts,
  type KtHeadResult,
  type KtLookupResult,
  MESSAGE_ID_MAX_LENGTH,
  MESSAGE_ID_MIN_LENGTH,
  MESSAGE_ID_PATTERN,
  NAME_SKELETON_RULE,
  RELAY_API_VERSION,
  type RelayErrorCode,
  type RelayOp,
  type RelayOps,
  type ServerFrame,
  type WireGroupMember,
  type WireKemPreKey,
  type WireOneTimePreKey,
  type WireOutgoing,
  type WireSignedPreKey,
} from './relay/frames.ts';
export {
  type AttachmentTooLargeDetails,
  type EpochMovedDetails,
  type NameConfusableDetails,
  type NotInvitedDetails,
  type QueueFullDetails,
  type QueueFullReason,
  type QuotaExceededDetails,
  type RateLimitedDetails,
  RELAY_CLOSE_CODES,
  type RelayErrorDetails,
  readRelayErrorDetails,
  type StaleDevicesDetails,
  type StorageUnavailableDetails,
  type TooManyKeyPackagesDetails,
  type UnknownAccountDetails,
} from './relay/refusals.ts';
export {
  compareSafetyNumberQr,
  computeSafetyNumber,
  type SafetyNumber,
  type SafetyNumberInput,
} from './safety-number/safety-number.ts';
export {
  decrypt,
  type EncryptedMessage,
  encrypt,
  hasSession,
  processPreKeyBundle,
  type SessionContext,
} from './session/cipher.ts';
export {
  archiveState,
  emptySessionRecord,
  MAX_PREVIOUS_SESSIONS,
  newStateWinsTie,
  promoteState,
  type SessionRecord,
} from './session/record.ts';
export { decodeSessionRecord, encodeSessionRecord } from './session/record-codec.ts';
export {
  createMemoryIdentityStore,
  createMemoryPreKeyStore,
  createMemorySessionStore,
  type MemoryIdentityStore,
  type MemoryPreKeyStore,
  type MemorySessionStore,
} from './stores/memory-stores.ts';
export {
  addressKey,
  type IdentityStore,
  type PreKeyStore,
  type ProtocolAddress,
  type SessionStore,
} from './stores/stores.ts';
export { MESSAGE_TYPE, type MessageTypeName, openEnvelope, peekMessageType, WIRE_VERSION } from './wire/envelope.ts';
export { decodeInitialMessage, encodeInitialMessage, type InitialMessage } from './wire/initial-message.ts';
export { decodePreKeyBundle, encodePreKeyBundle, type PreKeyBundle } from './wire/prekey-bundle.ts';
export { decodeFields, encodeFields, type FieldSpec, type FieldValues, withEnvelope } from './wire/proto.ts';
export {
  decodeRatchetMessage,
  encodeRatchetHeader,
  encodeRatchetMessage,
  MAX_CIPHERTEXT_LENGTH,
  type RatchetHeader,
  type RatchetMessage,
  ratchetHeaderAssociatedData,
} from './wire/ratchet-message.ts';
