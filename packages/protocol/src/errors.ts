/**
 * The protocol package's single error family.
 *
 * Every failure the protocol can report is a `ProtocolError` with a literal `code`, so callers
 * switch on codes rather than parse messages. Messages name the field or step that failed and
 * never contain key material, plaintext or ciphertext bytes.
 */

/** Every code a `ProtocolError` can carry. */
export type ProtocolErrorCode =
  /** An argument had the wrong type or length (a caller bug or hostile input at an edge). */
  | 'INVALID_ARGUMENT'
  /** Bytes could not be decoded: truncated, extended, unknown field, bad length. */
  | 'MALFORMED_MESSAGE'
  /** A version byte or record version this build does not speak. */
  | 'UNKNOWN_VERSION'
  /** A public key is the wrong length, low order, or otherwise unusable. */
  | 'INVALID_KEY'
  /** A signature did not verify (strict Ed25519). */
  | 'INVALID_SIGNATURE'
  /** AEAD authentication failed: ciphertext or header tampered, or wrong key. */
  | 'DECRYPTION_FAILED'
  /** A message that was already decrypted (or whose key was already used). */
  | 'DUPLICATE_MESSAGE'
  /** A message would require storing more skipped keys than the bound allows. */
  | 'TOO_MANY_SKIPPED_MESSAGES'
  /** The referenced prekey does not exist (never issued, or already consumed). */
  | 'UNKNOWN_PREKEY'
  /**
   * A bundle's signed prekey or last-resort ML-KEM prekey is older (by its signed creation time)
   * than the initiator's bound, or dated in the future: the device has not rotated it, or the
   * server serves an old one.
   */
  | 'STALE_PREKEY'
  /** A prekey bundle lacks the post-quantum prekey (no downgrade to classical X3DH). */
  | 'MISSING_PQ_PREKEY'
  /** The ML-KEM ciphertext did not decapsulate to the secret the sender used. */
  | 'KEM_FAILURE'
  /** The remote identity differs from the one stored and is not (yet) trusted. */
  | 'UNTRUSTED_IDENTITY'
  /** An initial message addressed to a different device identity. */
  | 'WRONG_RECIPIENT'
  /** No session exists for the address. */
  | 'NO_SESSION'
  /** A replayed initial message (same base key against a last-resort prekey). */
  | 'REPLAYED_INITIAL_MESSAGE'
  /** An MLS message or operation ts-mls refused (bad signature, wrong epoch, tampered, …). */
  | 'INVALID_GROUP_MESSAGE'
  /** A group change signed by a member who may not make it (docs/protocol.md §14.4). */
  | 'UNAUTHORIZED_CHANGE'
  /**
   * An attachment blob failed a check while streaming (docs/protocol.md §16): a chunk did not
   * authenticate, it was truncated or extended, its padding or its digest was wrong.
   */
  | 'ATTACHMENT_CORRUPT'
  /**
   * A VRF proof did not verify (RFC 9381 ECVRF, docs/protocol.md §17): wrong length, a point
   * encoding that is not canonical, a public key of small order, s not below the group order,
   * or a challenge that does not match the key and input.
   */
  | 'VRF_INVALID'
  /**
   * A key-transparency proof (log inclusion or consistency, map membership or non-membership)
   * did not verify against the root it was checked against, or was inconsistent in itself
   * (docs/protocol.md, "Key transparency: log, map, tree heads").
   */
  | 'KT_PROOF_INVALID'
  /** A bug: an invariant that input cannot break was broken. */
  | 'INTERNAL';

/** Base error of `@parley/protocol`. `code` is stable API; `message` is for people. */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/** True when `err` is a `ProtocolError`, optionally with the given code. */
export function isProtocolError(err: unknown, code?: ProtocolErrorCode): err is ProtocolError {
  return err instanceof ProtocolError && (code === undefined || err.code === code);
}
