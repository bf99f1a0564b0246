/**
 * The delivery bus between server nodes (issue 8). Durable state is in the shared database; the
 * bus only rings doorbells: "device D has new messages" (the node holding D's connection reads
 * them from the database) and "device D connected here" (any other node holding an older
 * connection of D closes it). Losing a bus event delays nothing durable: a device gets its
 * queue on its next connection, and a node re-reads a device's queue on every acknowledgement.
 */

import type { ServerFrame } from '@parley/protocol';

/** A device as bus events name it. */
export interface BusDevice {
  readonly account: string;
  readonly device: number;
}

/**
 * What nodes tell each other. A `link` says a link channel was answered (relay/link-channels.ts);
 * a `usage` what a node allowed per account in the last second (relay/rate-limit.ts).
 * A `wake` names every device a node queued for in one event-loop
 * turn and does not hold a connection of (at most `MAX_WAKE_DEVICES`; more go in further events),
 * so a group message to 1,000 devices on other nodes is one bus message, not 1,000.
 */
export type BusEvent =
  | { readonly type: 'wake'; readonly devices: readonly BusDevice[] }
  | {
      readonly type: 'notify';
      readonly account: string;
      readonly device: number;
      readonly notice: StockNotice;
    }
  | { readonly type: 'link'; readonly channel: string }
  | { readonly type: 'usage'; readonly node: string; readonly usage: AccountUsage }
  | { readonly type: 'attached'; readonly account: string; readonly device: number; readonly node: string }
  | { readonly type: 'removed'; readonly account: string; readonly device: number };

/**
 * A low-stock notice for a device (the `keys-low` and `key-packages-low` frames), which the node
 * that served the fetch may not be the one holding the device's connection: `notify` carries it.
 */
export type StockNotice = Extract<
  ServerFrame,
  { type: 'keys-low' | 'key-packages-low' | 'stock-drained' | 'key-in-use' }
>;

/** What a node reports to the others in a `usage` event: per account, the sends and fetches it allowed. */
export interface AccountUsage {
  readonly sends: readonly (readonly [account: string, n: number])[];
  readonly fetches: readonly (readonly [account: string, n: number])[];
}

/** The most accounts of each kind one `usage` event names (a busier second takes several). */
export const MAX_USAGE_ENTRIES = 1000;

const isCount = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;

/** A notice as a bus payload carries it, rebuilt field by field; undefined if it is not one. */
function parseNotice(n: unknown): StockNotice | undefined {
  if (typeof n !== 'object' || n === null) return undefined;
  const f = n as Record<string, unknown>;
  if (f.type === 'keys-low' && isCount(f.oneTime) && isCount(f.kem))
    return { type: 'keys-low', oneTime: f.oneTime, kem: f.kem };
  if (f.type === 'key-packages-low' && isCount(f.count)) return { type: 'key-packages-low', count: f.count };
  if (f.type === 'stock-drained' && (f.stock === 'prekeys' || f.stock === 'key-packages'))
    return { type: 'stock-drained', stock: f.stock };
  if (f.type === 'key-in-use' && isCount(f.device)) return { type: 'key-in-use', device: f.device };
  return undefined;
}

/** The most devices one `wake` event names: bounds a bus payload (~50 KB) and a parse. */
export const MAX_WAKE_DEVICES = 1000;

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

/** A usage report's list of `[account, count]`, rebuilt; undefined if malformed or too long. */
function usageEntries(usage: unknown, kind: 'sends' | 'fetches'): [string, number][] | undefined {
  if (typeof usage !== 'object' || usage === null) return undefined;
  const list = (usage as Record<string, unknown>)[kind];
  if (!Array.isArray(list) || list.length > MAX_USAGE_ENTRIES) return undefined;
  const out: [string, number][] = [];
  for (const x of list as unknown[]) {
    if (!Array.isArray(x) || x.length !== 2) return undefined;
    const [account, n] = x as [unknown, unknown];
    if (typeof account !== 'string' || !Number.isSafeInteger(n) || (n as number) < 1) return undefined;
    out.push([account, n as number]);
  }
  return out;
}

const isDevice = (d: unknown): d is BusDevice =>
  typeof d === 'object' &&
  d !== null &&
  typeof (d as Record<string, unknown>).account === 'string' &&
  Number.isInteger((d as Record<string, unknown>).device);

/**
 * Parses a bus payload; undefined for anything malformed (the bus is not trusted blindly). A
 * `wake` for one device in the previous form, `{type, account, device}`, is still read, so
 * nodes can be upgraded one at a time.
 */
export function parseBusEvent(text: string): BusEvent | undefined {
  try {
    const e = JSON.parse(text) as Record<string, unknown>;
    if (e.type === 'wake' && Array.isArray(e.devices)) {
      const devices = e.devices as unknown[];
      if (devices.length === 0 || devices.length > MAX_WAKE_DEVICES || !devices.every(isDevice)) return undefined;
      return { type: 'wake', devices: devices.map((d) => ({ account: d.account, device: d.device })) };
    }
    // A link channel's answer is in the database (its id is 16 bytes, base64url).
    if (e.type === 'link') {
      return typeof e.channel === 'string' && /^[A-Za-z0-9_-]{22}$/.test(e.channel)
        ? { type: 'link', channel: e.channel }
        : undefined;
    }
    if (e.type === 'usage') {
      const sends = usageEntries(e.usage, 'sends');
      const fetches = usageEntries(e.usage, 'fetches');
      return typeof e.node === 'string' && sends !== undefined && fetches !== undefined
        ? { type: 'usage', node: e.node, usage: { sends, fetches } }
        : undefined;
    }
    if (!isDevice(e)) return undefined;
    if (e.type === 'wake') return { type: 'wake', devices: [{ account: e.account, device: e.device }] };
    if (e.type === 'removed') return { type: 'removed', account: e.account, device: e.device };
    if (e.type === 'notify') {
      const notice = parseNotice(e.notice);
      return notice === undefined ? undefined : { type: 'notify', account: e.account, device: e.device, notice };
    }
    if (e.type === 'attached' && typeof e.node === 'string') {
      return { type: 'attached', account: e.account, device: e.device, node: e.node };
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
