/**
 * Watching for open-file exhaustion (issue 24). At the open-file limit, libuv accepts each new
 * connection on a spare descriptor and closes it at once, and tells Node.js nothing: clients saw
 * resets while the server logged nothing and `/healthz` said ok. What a process can observe is
 * the condition itself, so once a second the watch opens one descriptor (`/dev/null`, closed at
 * once): a failed open (EMFILE, ENFILE) is "exhausted" (libuv keeps one spare, so the process
 * stays at its limit while connections are being refused). While it is, `/healthz`
 * answers 503 (`open-files-exhausted`) and the `parley_open_files_exhausted` gauge is 1; the log
 * says so once when it starts and once when it ends (with how many checks found it).
 * Connections refused in between cannot be counted: libuv does not report them.
 */
import { closeSync, openSync, readdirSync } from 'node:fs';
import type { Logger } from 'pino';
import type { OpenFileLimits } from './fd-limit.ts';
import type { Counter, Gauge } from './metrics.ts';

/** How often the watch looks. */
export const FD_WATCH_INTERVAL_MS = 1000;

/** The watch's metrics (see metrics.ts). */
export interface FdMetrics {
  readonly exhausted: Gauge;
  readonly exhaustedChecks: Counter;
}

/** A running watch. */
export interface FdWatch {
  /** Whether the last check found the descriptors exhausted. */
  exhausted(): boolean;
  /** Looks now (the timer also does, every `FD_WATCH_INTERVAL_MS`). */
  check(): void;
  stop(): void;
}

/**
 * Open descriptors of this process, or undefined where `/proc` does not say (or none is left to
 * read it). Read once when the condition ends, not every check (a directory of 50,000 entries).
 */
function openFileCount(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

/** Whether one more descriptor can be opened now. */
function canOpen(): boolean {
  try {
    closeSync(openSync('/dev/null', 'r'));
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EMFILE' || code === 'ENFILE') return false;
    return true; // no /dev/null (not POSIX): nothing learned
  }
}

/** Starts watching; `limits` as read at start (undefined where the platform does not say). */
export function watchOpenFiles(limits: OpenFileLimits | undefined, log: Logger, metrics: FdMetrics): FdWatch {
  let exhausted = false;
  let checks = 0;
  let since = 0;
  const check = (): void => {
    const now = !canOpen();
    if (now) {
      checks++;
      metrics.exhaustedChecks.inc();
    }
    if (now && !exhausted) {
      since = Date.now();
      log.error(
        { limit: limits?.soft },
        'open-file limit reached: new connections are closed as they arrive; raise the limit (LimitNOFILE=, ulimit -Hn)',
      );
    } else if (!now && exhausted) {
      log.warn(
        { open: openFileCount(), limit: limits?.soft, checks, lastedMs: Date.now() - since },
        'open files below the limit again',
      );
      checks = 0;
    }
    exhausted = now;
    metrics.exhausted.set(now ? 1 : 0);
  };
  const timer = setInterval(check, FD_WATCH_INTERVAL_MS);
  timer.unref();
  return { exhausted: () => exhausted, check, stop: () => clearInterval(timer) };
}
