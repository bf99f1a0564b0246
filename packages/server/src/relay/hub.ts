/**
 * The delivery hub: which devices are connected to this node, the batched durable writes, and
 * the push of queued messages to connected devices in order.
 *
 * Sends and acknowledgements are collected for one event-loop turn and written in one
 * transaction (one fsync for many messages); a send is answered only after that transaction
 * commits. Each connected device has a cursor (highest seq pushed) and a bounded set of
 * delivered-but-unacknowledged seqs; when the window is full or a backlog exists, messages
 * wait in the database and are read back in seq order.
 */
import type { ServerFrame } from '@parley/protocol';
import type { Logger } from 'pino';
import { type Bus, createLocalBus } from '../bus/bus.ts';
import type { RelayMetrics } from '../metrics.ts';
import type { Limits } from '../options.ts';
import type { QueuedMessage, SendBatchItem, SendOutcome, Storage } from '../store/storage.ts';

/** A connected, authenticated device as the hub sees it. */
export interface DeviceLink {
  readonly account: string;
  readonly device: number;
  /** Sends one queued message to the device. */
  deliver(message: QueuedMessage): void;
  /** Sends any other frame to the device. */
  sendFrame(frame: ServerFrame): void;
  /** Closes the link because a newer connection of the same device replaced it. */
  replace(): void;
  /** Closes the link because the device was removed from its account. */
  remove(): void;
}

interface LinkState {
  readonly link: DeviceLink;
  cursor: number;
  readonly inFlight: Set<number>;
  backlog: boolean;
  pumping: boolean;
  closed: boolean;
  drainedSent: boolean;
}

interface PendingSend {
  readonly item: SendBatchItem;
  resolve(outcome: SendOutcome): void;
  reject(err: unknown): void;
}

/** The hub's operations. */
export interface Hub {
  attach(link: DeviceLink): void;
  detach(link: DeviceLink): void;
  /** Queues a send for the next batched commit; resolves once it is durable (or refused). */
  send(item: SendBatchItem): Promise<SendOutcome>;
  /** Records the device's acknowledgements (deleted in the next batch) and pushes more. */
  acknowledge(link: DeviceLink, seqs: readonly number[]): void;
  /** Disconnects a device removed from its account, on this node and every other. */
  evict(account: string, device: number): void;
  /** The link of a connected device, if any. */
  linkOf(account: string, device: number): DeviceLink | undefined;
  /** Writes everything pending now (used by shutdown). */
  flush(): Promise<void>;
  connectedCount(): number;
}

const key = (account: string, device: number) => `${account}\u0000${device}`;

/** Creates the hub over a storage backend; `bus` reaches devices connected to other nodes. */
export function createHub(
  storage: Storage,
  limits: Limits,
  clock: () => number,
  log: Logger,
  bus: Bus = createLocalBus(),
  node = 'local',
  metrics?: RelayMetrics,
): Hub {
  const links = new Map<string, LinkState>();
  let sends: PendingSend[] = [];
  let acks: { account: string; device: number; seqs: number[] }[] = [];
  let scheduled = false;
  let flushing: Promise<void> = Promise.resolve();

  function push(s: LinkState, m: QueuedMessage): void {
    metrics?.messagesOut.inc();
    s.inFlight.add(m.seq);
    if (m.seq > s.cursor) s.cursor = m.seq;
    s.link.deliver(m);
  }

  async function pump(s: LinkState): Promise<void> {
    if (s.pumping || s.closed) return;
    s.pumping = true;
    try {
      while (s.backlog && !s.closed && s.inFlight.size < limits.maxInFlight) {
        const room = limits.maxInFlight - s.inFlight.size;
        // Cleared before the read: a commit during the read sets it again and we loop.
        s.backlog = false;
        const rows = await storage.pending(s.link.account, s.link.device, s.cursor, room, clock());
        if (rows.length === room) s.backlog = true;
        for (const r of rows) if (!s.closed) push(s, r);
      }
      if (!s.backlog && !s.drainedSent && !s.closed) {
        s.drainedSent = true;
        s.link.sendFrame({ type: 'drained' });
      }
    } catch (err) {
      log.error({ err }, 'reading a device queue failed');
    } finally {
      s.pumping = false;
    }
  }

  function route(item: SendBatchItem, outcome: SendOutcome, now: number): void {
    if (outcome.status !== 'queued') return;
    for (const { device, seq } of outcome.seqs) {
      const s = links.get(key(item.recipient, device));
      if (s === undefined || s.closed) {
        // Perhaps connected to another node: ring its doorbell (it reads the queue itself).
        bus.publish({ type: 'wake', account: item.recipient, device });
        continue;
      }
      const m = item.messages.find((x) => x.device === device);
      if (m === undefined) continue;
      if (!s.backlog && !s.pumping && s.inFlight.size < limits.maxInFlight && seq > s.cursor) {
        push(s, {
          seq,
          sender: item.sender,
          senderDevice: item.senderDevice,
          messageId: item.messageId,
          kind: m.kind,
          body: m.body,
          serverTime: now,
        });
      } else {
        s.backlog = true;
        void pump(s);
      }
    }
  }

  async function writeBatch(): Promise<void> {
    scheduled = false;
    const batchSends = sends;
    const batchAcks = acks;
    sends = [];
    acks = [];
    if (batchSends.length === 0) {
      if (batchAcks.length === 0) return;
      try {
        await storage.acknowledge(batchAcks);
      } catch (err) {
        log.error({ err }, 'deleting acknowledged messages failed');
      }
      return;
    }
    const now = clock();
    let outcomes: SendOutcome[];
    const timer = metrics?.storeSeconds.startTimer({ op: 'batch' });
    try {
      outcomes = await storage.enqueue(
        batchSends.map((p) => p.item),
        now,
        now + limits.queueTtlMs,
        limits.maxQueuePerDevice,
        batchAcks,
      );
    } catch (err) {
      for (const p of batchSends) p.reject(err);
      return;
    } finally {
      timer?.();
    }
    batchSends.forEach((p, i) => {
      const outcome = outcomes[i] as SendOutcome;
      if (outcome.status === 'queued') metrics?.messagesIn.inc(outcome.seqs.length);
      p.resolve(outcome);
      route(p.item, outcome, now);
    });
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      flushing = flushing.then(writeBatch);
    });
  }

  /** Forgets a device's link and closes it: replaced by a newer connection, or removed from its account. */
  function drop(account: string, device: number, why: 'replace' | 'remove'): void {
    const k = key(account, device);
    const s = links.get(k);
    if (s === undefined) return;
    s.closed = true;
    links.delete(k);
    if (why === 'replace') s.link.replace();
    else s.link.remove();
  }

  bus.subscribe((e) => {
    const s = links.get(key(e.account, e.device));
    if (s === undefined || s.closed) return;
    if (e.type === 'wake') {
      s.backlog = true;
      void pump(s);
    } else if (e.type === 'removed') {
      drop(e.account, e.device, 'remove');
    } else if (e.node !== node) {
      // The device connected to another node: that connection wins, as on one node.
      drop(e.account, e.device, 'replace');
    }
  });

  return {
    attach(link) {
      drop(link.account, link.device, 'replace');
      const s: LinkState = {
        link,
        cursor: 0,
        inFlight: new Set(),
        backlog: true,
        pumping: false,
        closed: false,
        drainedSent: false,
      };
      links.set(key(link.account, link.device), s);
      bus.publish({ type: 'attached', account: link.account, device: link.device, node });
      void pump(s);
    },
    detach(link) {
      const k = key(link.account, link.device);
      const s = links.get(k);
      if (s !== undefined && s.link === link) {
        s.closed = true;
        links.delete(k);
      }
    },
    send(item) {
      return new Promise((resolve, reject) => {
        sends.push({ item, resolve, reject });
        schedule();
      });
    },
    acknowledge(link, seqs) {
      const s = links.get(key(link.account, link.device));
      // Only the device's own rows are deleted, whatever seqs it names.
      acks.push({ account: link.account, device: link.device, seqs: [...seqs] });
      schedule();
      if (s !== undefined && s.link === link) {
        for (const seq of seqs) s.inFlight.delete(seq);
        void pump(s);
      }
    },
    evict(account, device) {
      drop(account, device, 'remove');
      bus.publish({ type: 'removed', account, device });
    },
    linkOf(account, device) {
      return links.get(key(account, device))?.link;
    },
    async flush() {
      await flushing;
      await writeBatch();
    },
    connectedCount() {
      return links.size;
    },
  };
}
