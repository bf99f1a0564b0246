/**
 * Link channels: where a new device waits, unauthenticated, for an existing device of the
 * account to send it the sealed account data (docs/protocol.md §13). A channel is a database
 * record (what the new device published, then the sealed answer), so the existing device may be
 * connected to any node; the waiting connection is held by one node, which the bus tells (a
 * `link` event) when the answer is in, and which also looks every few seconds in case the bus lost
 * the event. A channel lives for at most `limits.linkTtlMs` and is used once.
 */
import type { Bus } from '../bus/bus.ts';
import type { LinkChannelOpening, LinkChannelRecord, Storage } from '../store/storage.ts';

/** The open channels, across nodes, and the new devices waiting on this node. */
export interface LinkChannels {
  /** Opens channel `id` for a new device connected here: `'in-use'` or `'full'` (too many open) if not. */
  open(
    id: string,
    channel: LinkChannelRecord,
    now: number,
    deliver: (body: string) => void,
  ): Promise<LinkChannelOpening>;
  /** What the new device published on channel `id`, while it is open and unanswered. */
  get(id: string, now: number): Promise<LinkChannelRecord | undefined>;
  /** Answers channel `id` with `body` and hands it to the waiting device; false if there is no such open channel. */
  answer(id: string, body: string, now: number): Promise<boolean>;
  /** The waiting device's connection closed: the channel goes. */
  close(id: string): void;
  /** Stops checking for answers (the server is closing). */
  stop(): void;
}

/**
 * Creates the registry over `storage`; at most `max` channels are open at once (all nodes
 * together); answers that the bus did not announce are found within `pollMs`.
 */
export function createLinkChannels(storage: Storage, bus: Bus, max: number, pollMs: number): LinkChannels {
  const waiting = new Map<string, { readonly deliver: (body: string) => void; readonly expiresAt: number }>();

  /** Gives the answers among channels `ids` to their devices waiting here (each taken once). */
  async function hand(ids: readonly string[]): Promise<void> {
    const here = ids.filter((id) => waiting.has(id));
    if (here.length === 0) return;
    for (const { id, body } of await storage.takeLinkAnswers(here)) {
      const w = waiting.get(id);
      waiting.delete(id);
      w?.deliver(body);
    }
  }

  /** Forgets waiters whose channel has expired (one whose connection closed mid-open is never closed). */
  function sweep(now: number): void {
    for (const [id, w] of waiting) if (w.expiresAt <= now) waiting.delete(id);
  }

  bus.subscribe((e) => {
    if (e.type === 'link') hand([e.channel]).catch(() => {});
  });
  // The bus may lose an event: the waiting devices' channels are also checked every few seconds.
  const poller = setInterval(() => {
    if (waiting.size > 0) hand([...waiting.keys()]).catch(() => {});
  }, pollMs);
  poller.unref();

  return {
    async open(id, channel, now, deliver) {
      sweep(now);
      if (waiting.has(id)) return 'in-use';
      const opening = await storage.openLinkChannel(id, channel, now, max);
      if (opening === 'opened') waiting.set(id, { deliver, expiresAt: channel.expiresAt });
      return opening;
    },
    get(id, now) {
      return storage.getLinkChannel(id, now);
    },
    async answer(id, body, now) {
      if (!(await storage.answerLinkChannel(id, body, now))) return false;
      if (waiting.has(id)) await hand([id]);
      else bus.publish({ type: 'link', channel: id });
      return true;
    },
    stop() {
      clearInterval(poller);
    },
    close(id) {
      if (!waiting.delete(id)) return;
      // Nothing to wait for: a failure only leaves the record to the next purge.
      storage.closeLinkChannel(id).catch(() => {});
    },
  };
}
