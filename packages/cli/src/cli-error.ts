/**
 * How the CLI fails: a message a person can act on and an exit code scripts can test.
 */
// The SDK's errors entry point, not the SDK: `parley serve` and the usage errors load no client.
import { isClientError } from '@parley/client/errors';

/**
 * Exit codes of the `parley` command. `queued` (3) means exactly one thing: the message is in
 * this home's outbox, not yet accepted by the server, and goes out the next time parley connects.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  queued: 3,
  untrusted: 4,
  unknownAccount: 5,
  notRegistered: 6,
  unreachable: 7,
} as const;

/** An error the CLI reports as `parley: message` and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Maps any error to the message and exit code the CLI prints. */
export function describeError(err: unknown): { message: string; exitCode: number } {
  if (err instanceof CliError) return { message: err.message, exitCode: err.exitCode };
  if (isClientError(err)) {
    switch (err.code) {
      case 'SERVER_UNREACHABLE':
        return {
          message: `${err.message} (is \`parley serve\` running, and is --server right?)`,
          exitCode: EXIT.unreachable,
        };
      case 'TIMEOUT':
        return { message: `${err.message} (try again, or a longer --timeout)`, exitCode: EXIT.unreachable };
      case 'INSECURE_SERVER':
        // The SDK names its option; the CLI's is the flag.
        return { message: err.message.replace('(allowInsecure)', 'with --insecure'), exitCode: EXIT.failure };
      case 'QUEUED':
        return { message: err.message, exitCode: EXIT.queued };
      case 'UNTRUSTED_IDENTITY':
        return {
          message: `${err.message}: run \`parley verify NAME\`, compare, then \`parley verify NAME --accept DIGITS\``,
          exitCode: EXIT.untrusted,
        };
      case 'SAFETY_NUMBER_MISMATCH':
        return { message: err.message, exitCode: EXIT.untrusted };
      case 'INVALID_DEVICE_LIST':
        return { message: err.message, exitCode: EXIT.untrusted };
      case 'UNKNOWN_ACCOUNT':
        return { message: err.message, exitCode: EXIT.unknownAccount };
      case 'NOT_REGISTERED':
        return { message: err.message, exitCode: EXIT.notRegistered };
      case 'SERVER_REFUSED':
        if (err.relayCode === 'UNKNOWN_ACCOUNT') return { message: err.message, exitCode: EXIT.unknownAccount };
        return { message: err.message, exitCode: EXIT.failure };
      default:
        return { message: err.message, exitCode: EXIT.failure };
    }
  }
  return { message: err instanceof Error ? err.message : String(err), exitCode: EXIT.failure };
}
