/**
 * Link channels: where a new device waits, unauthenticated, for an existing device of the
 * account to send it the sealed account data (docs/protocol.md §13). A channel lives on the node
 * the new device is connected to, for at most `limits.linkTtlMs`, and is used once.
 */

/** What the new device published, and how to reach it. */
export interface LinkChannel {
  readonly identity: string;
  readonly name: string;
  readonly mac: string;
  readonly expiresAt: number;
  deliver(body: string): void;
}

/** The node's open channels. */
export interface LinkChannels {
  open(id: string, channel: LinkChannel): boolean;
  get(id: string, now: number): LinkChannel | undefined;
  close(id: string): void;
}

/** Creates an empty registry (bounded: at most `max` channels at once). */
export function createLinkChannels(max = 10_000): LinkChannels {
  const channels = new Map<string, LinkChannel>();
  return {
    open(id, channel) {
      if (channels.has(id) || channels.size >= max) return false;
      channels.set(id, channel);
      return true;
    },
    get(id, now) {
      const c = channels.get(id);
      if (c !== undefined && c.expiresAt <= now) {
        channels.delete(id);
        return undefined;
      }
      return c;
    },
    close(id) {
      channels.delete(id);
    },
  };
}
