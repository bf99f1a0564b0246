/**
 * The outbox runner: sends what an outbox holds, in order, and decides what happens to each
 * entry after a failure through `classifySendError`. One-to-one and group messages each have
 * an outbox (a `OutboxLane`: their own table and their own way of sending one entry); both run
 * here, so both retry the same way:
 *
 * - `offline`: the pass stops; `flush()` on the next connection sends the rest.
 * - `retry-after`: the entry stays; the rest of its conversation (its `key`) waits for the next
 *   pass, so order within a conversation holds; one timer brings the next pass after the
 *   server's hint, or after a backoff that doubles from `baseMs` up to `maxMs` and is reset by a
 *   success.
 * - `blocked`: the entry stays until the user acts (`flush()` after); whoever waits on it hears
 *   why at once, and so does everyone waiting on a later entry of the same conversation.
 * - `delayed`: retried like `retry-after` (backoff), and, like `blocked`, whoever waits on it or
 *   on a later entry of its conversation hears why at once.
 * - `fatal`: the lane marks it failed and drops it.
 */
import { classifySendError } from './classify-send-error.ts';

/** One outbox as the runner sees it. */
export interface OutboxLane<Row> {
  /** The entries waiting, oldest first (read afresh at each pass). */
  pending(): readonly Row[];
  /** The conversation an entry belongs to: a failure holds back that conversation's later entries only. */
  key(row: Row): string;
  /** Sends one entry; resolves once the server accepted it. */
  deliver(row: Row): Promise<void>;
  /** The server accepted it: drop it from the outbox, mark it sent. */
  sent(row: Row): void;
  /** Refused for good: mark it failed, drop it. */
  failed(row: Row, err: unknown): void;
  /** Kept, waiting for the user (or for a condition that may last): tell whoever waits on it. */
  blocked(row: Row, err: unknown): void;
  /** Kept, waiting for space in a recipient's queue (retried): tell whoever waits on it. */
  delayed(row: Row, err: unknown): void;
}

/** What the runner needs besides its lane. */
export interface OutboxRunnerOptions {
  isConnected(): boolean;
  /** First backoff after a transient failure without a server hint (default 1 s). */
  readonly baseMs?: number;
  /** Longest wait before the next try, hint or not (default 30 s). */
  readonly maxMs?: number;
  /** Shortest wait, so a zero hint does not spin (default 50 ms). */
  readonly minMs?: number;
  /** A pass that threw (a bug in a lane, or the home database failing); later passes still run. */
  onError(err: unknown): void;
}

/** A running outbox. */
export interface OutboxRunner {
  /** Runs a pass soon (coalesced with one already queued); resolves when that pass is over. */
  flush(): Promise<void>;
  /** Resolves when no pass is running or queued (a pass waiting for its retry timer does not count). */
  idle(): Promise<void>;
  /** Whether a retry is scheduled. */
  retrying(): boolean;
  /** Cancels a scheduled retry; later `flush()` calls still run. */
  stop(): void;
}

/** Starts a runner over `lane`. */
export function createOutboxRunner<Row>(lane: OutboxLane<Row>, options: OutboxRunnerOptions): OutboxRunner {
  const baseMs = options.baseMs ?? 1000;
  const maxMs = options.maxMs ?? 30_000;
  const minMs = options.minMs ?? 50;
  let chain: Promise<void> = Promise.resolve();
  let queued: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let backoffMs = baseMs;

  const pass = async (): Promise<void> => {
    // Conversations held back for the rest of this pass, with what their waiters hear (if anything).
    const held = new Map<string, { kind: 'blocked' | 'delayed'; err: unknown } | undefined>();
    let wait: number | undefined;
    const backoff = (): void => {
      const ms = backoffMs;
      backoffMs = Math.min(backoffMs * 2, maxMs);
      wait = wait === undefined ? ms : Math.min(wait, ms);
    };
    for (const row of lane.pending()) {
      const key = lane.key(row);
      if (held.has(key)) {
        const why = held.get(key);
        if (why?.kind === 'blocked') lane.blocked(row, why.err);
        else if (why?.kind === 'delayed') lane.delayed(row, why.err);
        continue;
      }
      try {
        await lane.deliver(row);
      } catch (err) {
        const c = classifySendError(err);
        if (c.kind === 'offline') return;
        if (c.kind === 'blocked') {
          held.set(key, { kind: 'blocked', err });
          lane.blocked(row, err);
        } else if (c.kind === 'delayed') {
          held.set(key, { kind: 'delayed', err });
          lane.delayed(row, err);
          backoff();
        } else if (c.kind === 'retry-after') {
          held.set(key, undefined);
          if (c.tell === true) lane.blocked(row, err);
          const ms = c.ms ?? backoffMs;
          if (c.ms === undefined) backoffMs = Math.min(backoffMs * 2, maxMs);
          wait = wait === undefined ? ms : Math.min(wait, ms);
        } else lane.failed(row, err);
        continue;
      }
      backoffMs = baseMs;
      lane.sent(row);
    }
    if (wait !== undefined) retryIn(wait);
  };

  // One retry timer at a time; unref'd so a waiting retry never keeps a process alive by itself.
  const retryIn = (ms: number): void => {
    if (timer !== undefined) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        void flush();
      },
      Math.min(Math.max(ms, minMs), maxMs),
    );
    (timer as { unref?: () => void }).unref?.();
  };

  const flush = (): Promise<void> => {
    if (queued !== undefined) return queued;
    const run = chain
      .then(async () => {
        queued = undefined;
        if (options.isConnected()) await pass();
      })
      // A pass that throws must not stop every later pass: reported, and the chain goes on.
      .catch((err: unknown) => options.onError(err));
    queued = run;
    chain = run;
    return run;
  };

  return {
    flush,
    idle: () => chain,
    retrying: () => timer !== undefined,
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
