/**
 * The delivery bus between server nodes (issue 8). Durable state is in the shared database; the
 * bus only rings doorbells: "device D has new messages" (the node holding D's connection reads
 * them from the database) and "device D connected here" (any other node holding an older
 * connection of D closes it). Losing a bus event delays nothing durable: a device gets its
 * queue on its next connection, and a node re-reads a device's queue on every acknowledgement.
 */

/** What nodes tell each other. */
export type BusEvent =
  | { readonly type: 'wake'; readonly account: string; readonly device: number }
  | { readonly type: 'attached'; readonly account: string; readonly device: number; readonly node: string }
  | { readonly type: 'removed'; readonly account: string; readonly device: number };

/** A publish/subscribe channel shared by all nodes. */
export interface Bus {
  readonly name: string;
  publish(event: BusEvent): void;
  /** Registers the handler for events from every node (this one included). */
  subscribe(handler: (event: BusEvent) => void): void;
  close(): Promise<void>;
}

/** The subject/channel every node uses. */
export const BUS_SUBJECT = 'parley.events';

/** Parses a bus payload; undefined for anything malformed (the bus is not trusted blindly). */
export function parseBusEvent(text: string): BusEvent | undefined {
  try {
    const e = JSON.parse(text) as Record<string, unknown>;
    if (typeof e.account !== 'string' || !Number.isInteger(e.device)) return undefined;
    if (e.type === 'wake') return { type: 'wake', account: e.account, device: e.device as number };
    if (e.type === 'removed') return { type: 'removed', account: e.account, device: e.device as number };
    if (e.type === 'attached' && typeof e.node === 'string') {
      return { type: 'attached', account: e.account, device: e.device as number, node: e.node };
    }
  } catch {
    // fall through
  }
  return undefined;
}

/** The single-node bus: nothing to tell anyone. */
export function createLocalBus(): Bus {
  return {
    name: 'local',
    publish() {},
    subscribe() {},
    async close() {},
  };
}
