/**
 * The server's error family. A `ServerError` becomes an error frame with the same `code`
 * (the relay API's `RelayErrorCode`); messages never contain keys, bodies or names of others.
 */
import type { RelayErrorCode } from '@parley/protocol';

/** Base error of `@parley/server`. `details` travels to the client (e.g. the stale device set). */
export class ServerError extends Error {
  readonly code: RelayErrorCode;
  readonly details: unknown;

  constructor(code: RelayErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = 'ServerError';
    this.code = code;
    this.details = details;
  }
}

/** True when `err` is a `ServerError`, optionally with the given code. */
export function isServerError(err: unknown, code?: RelayErrorCode): err is ServerError {
  return err instanceof ServerError && (code === undefined || err.code === code);
}
