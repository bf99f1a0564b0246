/**
 * The process's open-file limit. Every socket is a file descriptor, so a relay left at a low
 * limit (1,024 is common) stops accepting connections — and answering `/healthz` — long before
 * the machine is busy. Node.js has no setrlimit, but it raises its own soft limit to the hard one
 * as it starts (on POSIX systems, before any JavaScript runs: checked with
 * `prlimit --nofile=256:1024 node`, which sees 1024:1024), so what is left for `parley serve`
 * is to read the limit and warn when even the hard limit is low: only the operator can raise that.
 */
import { readFileSync } from 'node:fs';

/** Below this soft limit `parley serve` warns: room for a few thousand sockets and the database. */
export const LOW_OPEN_FILE_LIMIT = 4096;

/** Soft and hard open-file limits (Infinity for "unlimited"). */
export interface OpenFileLimits {
  readonly soft: number;
  readonly hard: number;
}

/** Reads the "Max open files" line of a `/proc/<pid>/limits` text; undefined when it has none. */
export function parseOpenFileLimits(text: string): OpenFileLimits | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (m === null) return undefined;
  const value = (s: string | undefined) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
  const soft = value(m[1]);
  const hard = value(m[2]);
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : { soft, hard };
}

/** This process's limits, or undefined where `/proc` does not say (not Linux). */
export function openFileLimits(): OpenFileLimits | undefined {
  try {
    return parseOpenFileLimits(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}
