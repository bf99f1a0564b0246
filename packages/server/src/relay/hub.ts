/**
 * The delivery hub: which devices are connected to this node, the batched durable writes, and
 * the push of queued messages to connected devices in order.
 *
 * Sends and acknowledgements are collected for one event-loop turn and written in one
 * transaction (one fsync for many messages); a send is answered only after that transaction
 * commits. A group commit is its own transaction (it checks and bumps the group's epoch), written
 * in arrival order between the sends around it, so a device's messages keep the order it made
 * them in. Each connected device has a cursor (highest seq pushed) and a bounded set of
 * delivered-but-unacknowledged seqs; when the window is full or a backlog exists, messages
 * wait in the database and are read back in seq order.
 */
import type { ServerFrame } from '@parley/protocol';
import type { Logger } from 'pino';
import { type Bus, type BusDevice, createLocalBus, MAX_WAKE_DEVICES, type StockNotice } from '../bus/bus.ts';
import { isServerError } from '../errors.ts';
import type { RelayMetrics } from '../metrics.ts';
import type { Limits } from '../options.ts';
import type {
  GroupCommit,
  GroupCommitOutcome,
  OutgoingMessage,
  QueueCaps,
  QueuedAt,
  QueuedMessage,
  SendBatchItem,
  SendOutcome,
  Storage,
} from '../store/storage.ts';

/** A queued message on its way to a device; `bodyText` is its body's base64url, when already known. */
export interface Delivery extends QueuedMessage {
  readonly bodyText?: string | undefined;
}

/** A connected, authenticated device as the hub sees it. */
export interface DeviceLink {
  readonly account: string;
  readonly device: number;
  /** Sends one queued message to the device. */
  deliver(message: Delivery): void;
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

/** A write waiting for the next batch: a send, or a group commit. */
type PendingWrite =
  | {
      readonly type: 'send';
      readonly item: SendBatchItem;
      resolve(outcome: SendOutcome): void;
      reject(err: unknown): void;
    }
  | {
      readonly type: 'commit';
      readonly commit: GroupCommit;
      resolve(outcome: GroupCommitOutcome): void;
      reject(err: unknown): void;
    };

/** Who sent what was queued under one message id. */
interface Origin {
  readonly sender: string;
  readonly senderDevice: number;
  readonly messageId: string;
}

/** One queued ciphertext's content, as the hub pushes it. */
type Content = Pick<OutgoingMessage, 'kind' | 'body' | 'bodyText'>;

/** The hub's operations. */
export interface Hub {
  attach(link: DeviceLink): void;
  detach(link: DeviceLink): void;
  /** Queues a send for the next batched commit; resolves once it is durable (or refused). */
  send(item: SendBatchItem): Promise<SendOutcome>;
  /** Queues a group commit behind the writes before it; resolves once it is durable (or refused). */
  commit(commit: GroupCommit): Promise<GroupCommitOutcome>;
  /** Records the device's acknowledgements (deleted in the next batch) and pushes more. */
  acknowledge(link: DeviceLink, seqs: readonly number[]): void;
  /** Disconnects a device removed from its account, on this node and every other. */
  evict(account: string, device: number): void;
  /** Sends a low-stock notice to the device, on whichever node holds its connection (if any). */
  notify(account: string, device: number, notice: StockNotice): void;
  /**
   * Sends `key-in-use` for `device` to its open connection (on any node) and to the account's
   * other devices' connections: its key just authenticated with a stale connection token.
   */
  keyInUse(account: string, device: number): void;
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
  let writes: PendingWrite[] = [];
  let acks: { account: string; device: number; seqs: number[] }[] = [];
  let scheduled = false;
  let flushing: Promise<void> = Promise.resolve();

  function push(s: LinkState, m: Delivery): void {
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
      // A storage condition is logged once by storage-health.ts; the next pump reads again.
      if (!isServerError(err, 'STORAGE_UNAVAILABLE')) log.error({ err }, 'reading a device queue failed');
    } finally {
      s.pumping = false;
    }
  }

  /**
   * Pushes what was just queued under one message id: `contents[i]` went to `queued[i]`. A device
   * connected here and caught up gets it now; one with a backlog reads it back in order; one not
   * connected here may be on another node.
   */
  function route(from: Origin, queued: readonly QueuedAt[], contents: readonly (Content | undefined)[], now: number) {
    for (let i = 0; i < queued.length; i++) {
      const q = queued[i] as QueuedAt;
      const m = contents[i];
      if (m === undefined) continue;
      const s = links.get(key(q.account, q.device));
      if (s === undefined || s.closed) {
        // Perhaps connected to another node: ring its doorbell (it reads the queue itself).
        wake(q.account, q.device);
        continue;
      }
      if (!s.backlog && !s.pumping && s.inFlight.size < limits.maxInFlight && q.seq > s.cursor) {
        push(s, {
          seq: q.seq,
          sender: from.sender,
          senderDevice: from.senderDevice,
          messageId: from.messageId,
          kind: m.kind,
          body: m.body,
          bodyText: m.bodyText,
          serverTime: now,
        });
      } else {
        s.backlog = true;
        void pump(s);
      }
    }
  }

  /** Devices to wake on other nodes, collected over one event-loop turn (see BusEvent). */
  let wakes: Map<string, BusDevice> | undefined;
  function wake(account: string, device: number) {
    if (wakes === undefined) {
      wakes = new Map();
      setImmediate(ringWakes);
    }
    wakes.set(key(account, device), { account, device });
  }
  function ringWakes() {
    const devices = [...(wakes?.values() ?? [])];
    wakes = undefined;
    for (let i = 0; i < devices.length; i += MAX_WAKE_DEVICES)
      bus.publish({ type: 'wake', devices: devices.slice(i, i + MAX_WAKE_DEVICES) });
  }

  /** Writes consecutive sends (and, with the first, the batch's acknowledgements) in one transaction. */
  async function writeSends(
    pending: readonly (PendingWrite & { type: 'send' })[],
    batchAcks: typeof acks,
    now: number,
  ): Promise<void> {
    let outcomes: SendOutcome[];
    const timer = metrics?.storeSeconds.startTimer({ op: 'batch' });
    try {
      outcomes = await storage.enqueue(
        pending.map((p) => p.item),
        now,
        now + limits.queueTtlMs,
        queueCaps(limits),
        batchAcks,
      );
    } catch (err) {
      for (const p of pending) p.reject(err);
      return;
    } finally {
      timer?.();
    }
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i] as PendingWrite & { type: 'send' };
      const outcome = outcomes[i] as SendOutcome;
      p.resolve(outcome);
      if (outcome.status !== 'queued') continue;
      metrics?.messagesIn.inc(outcome.seqs.length);
      route(p.item, outcome.seqs, p.item.messages, now);
    }
  }

  async function writeCommit(p: PendingWrite & { type: 'commit' }, now: number): Promise<void> {
    let outcome: GroupCommitOutcome;
    const timer = metrics?.storeSeconds.startTimer({ op: 'group-commit' });
    try {
      outcome = await storage.commitGroup(p.commit, now, now + limits.queueTtlMs, queueCaps(limits));
    } catch (err) {
      p.reject(err);
      return;
    } finally {
      timer?.();
    }
    metrics?.groupCommits.inc({ outcome: outcome.status });
    p.resolve(outcome);
    if (outcome.status !== 'committed') return;
    metrics?.messagesIn.inc(outcome.deliveries.length);
    const commit = p.commit;
    route(
      commit,
      outcome.deliveries,
      outcome.deliveries.map((d) => (d.welcome ? commit.welcome : commit.commit)),
      now,
    );
  }

  async function writeBatch(): Promise<void> {
    scheduled = false;
    const batch = writes;
    let batchAcks = acks;
    writes = [];
    acks = [];
    const now = clock();
    for (let i = 0; i < batch.length; ) {
      const first = batch[i] as PendingWrite;
      if (first.type === 'commit') {
        await writeCommit(first, now);
        i++;
        continue;
      }
      const run: (PendingWrite & { type: 'send' })[] = [];
      for (let w = batch[i]; w?.type === 'send'; w = batch[++i]) run.push(w);
      await writeSends(run, batchAcks, now);
      batchAcks = [];
    }
    if (batchAcks.length === 0) return;
    try {
      await storage.acknowledge(batchAcks);
    } catch (err) {
      // A storage condition is logged once by storage-health.ts; the rows stay until a later ack.
      if (!isServerError(err, 'STORAGE_UNAVAILABLE')) log.error({ err }, 'deleting acknowledged messages failed');
    }
  }

  function schedule(): void {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      flushing = flushing.then(writeBatch);
    });
  }

  function notify(account: string, device: number, notice: StockNotice): void {
    const s = links.get(key(account, device));
    if (s !== undefined && !s.closed) s.link.sendFrame(notice);
    else bus.publish({ type: 'notify', account, device, notice });
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
    if (e.type === 'wake') {
      for (const d of e.devices) {
        const s = links.get(key(d.account, d.device));
        if (s === undefined || s.closed) continue;
        s.backlog = true;
        void pump(s);
      }
      return;
    }
    if (e.type !== 'notify' && e.type !== 'removed' && e.type !== 'attached') return; // others' events
    const s = links.get(key(e.account, e.device));
    if (s === undefined || s.closed) return;
    if (e.type === 'notify') {
      s.link.sendFrame(e.notice);
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
        writes.push({ type: 'send', item, resolve, reject });
        schedule();
      });
    },
    commit(commit) {
      return new Promise((resolve, reject) => {
        writes.push({ type: 'commit', commit, resolve, reject });
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
        // Room was made: read on only if messages wait in the database (or `drained` is owed).
        if (s.backlog || !s.drainedSent) void pump(s);
      }
    },
    evict(account, device) {
      drop(account, device, 'remove');
      bus.publish({ type: 'removed', account, device });
    },
    notify,
    keyInUse(account, device) {
      const notice: StockNotice = { type: 'key-in-use', device };
      log.info({ device }, 'a device authenticated with a stale connection token: its key is in use elsewhere');
      // The device's open connection now, before the new one attaches and replaces it.
      notify(account, device, notice);
      void storage.listDevices(account).then(
        (devices) => {
          for (const d of devices) if (d.id !== device) notify(account, d.id, notice);
        },
        (err: unknown) => log.warn({ err }, 'could not list the devices to tell of a key in use elsewhere'),
      );
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

/** The per-device queue caps of the limits table, and one sender's share of them (at least one message). */
function queueCaps(limits: Limits): QueueCaps {
  const share = (cap: number) => Math.max(1, Math.floor((cap * limits.queueSenderSharePercent) / 100));
  return {
    messages: limits.maxQueuePerDevice,
    bytes: limits.maxQueueBytesPerDevice,
    senderMessages: share(limits.maxQueuePerDevice),
    senderBytes: share(limits.maxQueueBytesPerDevice),
  };
}
