/**
 * The client SDK's error family. Codes are stable API for the CLI and UIs; messages say what a
 * person can do and never contain message text or key material. Also the entry point
 * `@parley/client/errors`, for a program that tells errors apart without loading the SDK (the
 * CLI's error reporting, so that `parley serve` loads no client).
 */
import type { RelayErrorCode, RelayErrorDetails } from '@parley/protocol';

/** Every code a `ClientError` can carry. */
export type ClientErrorCode =
  /** The server could not be reached (or the connection dropped before an answer). */
  | 'SERVER_UNREACHABLE'
  /**
   * The server URL is `http://` or `ws://` to a host that is not this machine, and the caller did
   * not allow an unencrypted connection (`allowInsecure`); nothing was connected.
   */
  | 'INSECURE_SERVER'
  /** The server answered with a relay error; `relayCode` says which. */
  | 'SERVER_REFUSED'
  /** This home directory has no registered account yet. */
  | 'NOT_REGISTERED'
  /** This home directory already holds an account. */
  | 'ALREADY_REGISTERED'
  /** The named account does not exist on the server. */
  | 'UNKNOWN_ACCOUNT'
  /** The contact's account key changed; nothing is sent until the user accepts the new key. */
  | 'UNTRUSTED_IDENTITY'
  /** The safety number the user compared is not the one for the contact's current key (nothing was marked verified). */
  | 'SAFETY_NUMBER_MISMATCH'
  /** The server served a device list that does not verify, or an older version of one. */
  | 'INVALID_DEVICE_LIST'
  /** The contact has no usable prekeys on the server. */
  | 'NO_PREKEYS'
  /** A request took too long. */
  | 'TIMEOUT'
  /** The message is stored in the outbox but not sent yet; it goes out when the server is reachable. */
  | 'QUEUED'
  /** The client was closed. */
  | 'CLOSED'
  /** The home is protected by a passphrase and none, or a wrong one, was given. */
  | 'WRONG_PASSPHRASE'
  /** Bad arguments from the caller. */
  | 'INVALID_ARGUMENT'
  /** No group with that id on this device. */
  | 'UNKNOWN_GROUP'
  /** The account has published no MLS KeyPackages, so it cannot be added to a group yet. */
  | 'NO_KEY_PACKAGES'
  /** The group's rules do not let this account make the change (only admins add/remove others). */
  | 'NOT_ALLOWED'
  /** An attachment failed a check while downloading (altered, truncated, wrong digest); nothing was saved. */
  | 'ATTACHMENT_CORRUPT'
  /** The server no longer has an attachment (expired, or never uploaded). */
  | 'ATTACHMENT_GONE'
  /** An attachment upload was refused or kept failing; the message was not sent. */
  | 'UPLOAD_FAILED'
  /**
   * A reply, reaction, edit or delete was refused by the conversation rules (docs/protocol.md
   * §12.1); `details.reason` says why (`ConversationRejection`). Nothing was changed or sent.
   */
  | 'MESSAGE_REJECTED'
  /** The person blocked this contact: nothing is sent to them until they unblock. */
  | 'BLOCKED'
  /**
   * Key transparency: the key or device list the server served for an account is not the one its
   * directory proves (or the proof is missing, malformed or does not verify); it was not used.
   */
  | 'KEY_NOT_IN_DIRECTORY'
  /**
   * Key transparency: a directory head is not consistent with one this device holds (a fork, a
   * rollback, a bad signature, an epoch or time going back); sends to the accounts concerned stop.
   */
  | 'DIRECTORY_INCONSISTENT';

/** Base error of `@parley/client`. */
export class ClientError extends Error {
  readonly code: ClientErrorCode;
  /** For `SERVER_REFUSED`: the relay's error code. */
  readonly relayCode: RelayErrorCode | undefined;
  /**
   * For `SERVER_REFUSED`: the relay's details, checked against the code's shape
   * (`readRelayErrorDetails`); read them through `isRelayRefusal`, which types them.
   */
  readonly details: unknown;

  constructor(
    code: ClientErrorCode,
    message: string,
    extra: { relayCode?: RelayErrorCode; details?: unknown; cause?: unknown } = {},
  ) {
    super(message, { cause: extra.cause });
    this.name = 'ClientError';
    this.code = code;
    this.relayCode = extra.relayCode;
    this.details = extra.details;
  }
}

/** True when `err` is a `ClientError`, optionally with the given code. */
export function isClientError(err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code);
}

/**
 * A relay refusal with code `C`: its `details` have that code's shape, or are `undefined` when
 * the server sent none (or sent something else, which the link drops).
 */
export type RelayRefusal<C extends RelayErrorCode> = ClientError & {
  readonly code: 'SERVER_REFUSED';
  readonly relayCode: C;
  readonly details: RelayErrorDetails[C] | undefined;
};

/** True when `err` is the relay refusing with `relayCode`; narrows `err.details` to that code's details. */
export function isRelayRefusal<C extends RelayErrorCode>(err: unknown, relayCode: C): err is RelayRefusal<C> {
  return isClientError(err, 'SERVER_REFUSED') && err.relayCode === relayCode;
}
