/**
 * The overall deadline of a command that talks to a server (`--timeout SECONDS`, default 30):
 * one signal the command passes to every wait, and the client timings that fit inside it. When
 * it passes, the command reports what it got done (a message not sent is queued, exit 3); if the
 * command has not ended a few seconds later, `parley` says so and exits anyway. No command waits
 * forever.
 */
import { CliError, EXIT } from './cli-error.ts';

/** `--timeout` when not given, in seconds. */
export const DEFAULT_TIMEOUT_S = 30;
/** How long a command may take to wind up once its deadline has passed. */
const GRACE_MS = 5_000;

/** A running deadline. */
export interface Deadline {
  /** Aborts when the deadline passes. */
  readonly signal: AbortSignal;
  readonly seconds: number;
  /** Client options that fit the deadline: requests and connect attempts time out well within it. */
  readonly clientOptions: { readonly requestTimeoutMs: number; readonly maxBackoffMs: number };
  /** Stops the clock (the command is done, or goes on interactively). */
  clear(): void;
}

/** Parses `--timeout` (seconds, > 0); a usage error otherwise. */
export function parseTimeout(flag: string | undefined): number {
  if (flag === undefined) return DEFAULT_TIMEOUT_S;
  const seconds = Number(flag);
  if (!(seconds > 0) || !Number.isFinite(seconds))
    throw new CliError('--timeout takes a number of seconds greater than 0', EXIT.usage);
  return seconds;
}

/**
 * Starts the clock. If the command is still going `GRACE_MS` after the deadline, `parley` says
 * so and exits with `EXIT.unreachable`. The timer keeps the process alive on purpose: a command
 * waiting for a lost connection to come back must not end silently with exit 0.
 */
export function startDeadline(seconds: number): Deadline {
  const controller = new AbortController();
  const ms = seconds * 1000;
  let overrun: ReturnType<typeof setTimeout> | undefined;
  const timer = setTimeout(() => {
    controller.abort();
    overrun = setTimeout(() => {
      process.stderr.write(`parley: gave up: the command did not end within ${seconds} s (--timeout)\n`);
      process.exit(EXIT.unreachable);
    }, GRACE_MS);
  }, ms);
  return {
    signal: controller.signal,
    seconds,
    clientOptions: {
      // A request or a connection attempt may fail and be tried again within the deadline.
      requestTimeoutMs: Math.round(Math.min(10_000, Math.max(500, ms / 3))),
      maxBackoffMs: Math.round(Math.min(2_000, Math.max(250, ms / 10))),
    },
    clear() {
      clearTimeout(timer);
      clearTimeout(overrun);
    },
  };
}
