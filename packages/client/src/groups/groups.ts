/**
 * Group conversations over MLS (docs/protocol.md §14): create, add, remove, leave, send, and
 * the group outbox. The parts: `group-core.ts` (lock, stored states, credential check,
 * conversation lines), `group-changes.ts` (commits and rebasing), `group-inbound.ts`
 * (Welcomes, commits and messages received).
 *
 * Every state change of a group happens under one lock, so an inbound commit and an outbound
 * change never interleave.
 */
import { toBase64Url } from '@parley/protocol';
import { type AttachmentContent, encodeContent, MAX_TEXT_BYTES, type OutgoingContent } from '../content.ts';
import { queueFullCap } from '../delivery/classify-send-error.ts';
import { createOutboxRunner } from '../delivery/outbox-runner.ts';
import { type TimerSeconds, timerWords } from '../disappearing/timers.ts';
import { ClientError, isClientError } from '../errors.ts';
import { groupPeer } from '../peer.ts';
import { createGroupChanges } from './group-changes.ts';
import { createGroupCore, type GroupInfo, type GroupsDeps } from './group-core.ts';
import { createGroupInbound, type Deliver } from './group-inbound.ts';
import type { GroupOutboxRow } from './group-store.ts';
import { createKeyPackageStock } from './key-package-stock.ts';

export { KEY_UPDATE_INTERVAL_MS } from './group-changes.ts';
export type { GroupInfo, GroupsDeps } from './group-core.ts';

/** The group operations. */
export interface Groups {
  create(name: string, members: readonly string[]): Promise<{ id: string }>;
  add(groupId: string, names: readonly string[]): Promise<void>;
  remove(groupId: string, names: readonly string[]): Promise<void>;
  leave(groupId: string): Promise<void>;
  /** Renames the group and/or replaces its admins; admins only. */
  setMeta(groupId: string, meta: { name?: string; admins?: readonly string[] }): Promise<void>;
  send(groupId: string, text: string): Promise<{ id: string }>;
  /** Sets the group's disappearing-message timer (undefined: off) for every member. */
  setTimer(groupId: string, seconds: TimerSeconds | undefined): Promise<void>;
  /** Sends an uploaded attachment's message to the group; `line` is the history line. */
  sendAttachment(groupId: string, content: AttachmentContent, line: string): Promise<{ id: string }>;
  /**
   * Seals `content` for the group and queues it; with `line`, stores it as our line first
   * (`annotate` runs in the same transaction). Resolves once queued.
   */
  sendContent(
    groupId: string,
    content: OutgoingContent,
    line: string | undefined,
    annotate?: () => void,
  ): Promise<void>;
  info(groupId: string): GroupInfo;
  list(): GroupInfo[];
  /** Adds this account's newly listed devices to every group and removes unlisted ones. */
  syncOwnDevices(): Promise<void>;
  receive(f: Deliver): void;
  /** After (re)connecting: resubmit an unanswered commit, flush the outbox, top up KeyPackages. */
  onConnected(): Promise<void>;
  refillKeyPackages(): Promise<void>;
  /**
   * Loads the group protocol (MLS) if this home holds any group, so that `info` and `list`,
   * which answer at once, can read them; a home without groups loads it on its first group
   * operation.
   */
  prepare(): Promise<void>;
  idle(): Promise<void>;
  /** Ends background retries (the client is closing). */
  stop(): void;
}

/** Creates the group layer. */
export function createGroups(deps: GroupsDeps): Groups {
  const { random, clock, events } = deps;
  const core = createGroupCore(deps);
  const { store, me } = core;
  const stock = createKeyPackageStock({ store, profile: deps.profile, clock, link: core.requireLink });
  const changes = createGroupChanges(core);
  const inbound = createGroupInbound(core, changes, () => stock.refill());

  /** The group outbox lane: each entry stays queued until the server accepted it (`delivery/`). */
  const outbox = createOutboxRunner<GroupOutboxRow>(
    {
      pending: () => store.outbox(),
      // Messages of one group go out in order; another group's are not held up by it.
      key: (row) => row.groupId,
      async deliver(row) {
        await core.requireLink().request('group-send', {
          groupId: row.groupId,
          messageId: row.messageId,
          body: toBase64Url(row.body),
        });
      },
      sent(row) {
        store.dropOutbox(row.seq);
        core.setLineStatus(row.messageId, 'sent');
        events.emit({ type: 'sent', id: row.messageId, to: groupPeer(row.groupId) });
      },
      failed(row, err) {
        // Refused for good (no longer a member, group gone): the message is marked failed.
        core.setLineStatus(row.messageId, 'failed');
        const reason = err instanceof Error ? err.message : 'send failed';
        events.emit({ type: 'send-failed', id: row.messageId, to: groupPeer(row.groupId), reason });
        store.dropOutbox(row.seq);
      },
      // Group sends wait for no one, and no group send is blocked on the user.
      blocked() {},
      // A member device's queue is full: the message stays queued and is retried; say so now.
      delayed(row, err) {
        const cap = queueFullCap(err);
        events.emit({ type: 'send-delayed', id: row.messageId, to: groupPeer(row.groupId), reason: 'QUEUE_FULL', cap });
      },
    },
    {
      isConnected: () => deps.link()?.isConnected() ?? false,
      onError: (err) => events.warn('OUTBOX_FAILED', err),
    },
  );
  const flushOutbox = (): Promise<void> => outbox.flush();

  /** Seals content for the group and queues it durably (state and outbox in one transaction). */
  const sealAndQueue = (
    groupId: string,
    content: Parameters<typeof encodeContent>[0],
    line: string | undefined,
    annotate?: () => void,
  ) =>
    core.locked(async () => {
      if (core.row(groupId).status !== 'active') {
        throw new ClientError('INVALID_ARGUMENT', 'this device is no longer in the group');
      }
      // A line carries the group's disappearing-message timer; its clock starts now, here.
      const exp = line === undefined ? undefined : deps.disappearing?.timer(groupPeer(groupId));
      const timed = exp === undefined ? content : { ...content, exp };
      // Stamped with our device-list version, as one-to-one content is (docs/protocol.md §10).
      const stamped = encodeContent({ ...timed, ...deps.directory.ownStamp() });
      const sealed = await core.mls().sealGroupMessage(core.load(groupId), stamped);
      store.transaction(() => {
        core.save(groupId, sealed.state);
        store.queueOutbox(groupId, content.id, sealed.message);
        if (line !== undefined) {
          core.insertLine({
            id: content.id,
            groupId,
            direction: 'out',
            sender: me(),
            senderDevice: core.myDevice(),
            text: line,
            sentAt: content.ts,
            receivedAt: null,
            status: 'pending',
          });
          annotate?.();
          if (exp !== undefined) deps.disappearing?.start(me(), content.id, exp, clock());
        }
      });
      if (line !== undefined) core.emitLine(me(), content.id);
    });

  return {
    async create(name, members) {
      await core.ready();
      // Every member is checked (account known, KeyPackages usable) before the group exists:
      // one bad name must not leave a one-member group behind, nor a retry a second one.
      const addMembers = await changes.prepareAdd(members);
      const groupId = random(16);
      const id = toBase64Url(groupId);
      const state = await core.mls().createGroupState({
        groupId,
        identity: deps.profile().identity,
        account: me(),
        device: core.myDevice(),
        meta: { name, admins: [me()] },
        config: core.config(),
      });
      await core.requireLink().request('group-create', { groupId: id });
      core.save(id, state);
      store.markKeyUpdated(id, clock());
      core.systemLine(id, `you created “${name}”`);
      const others = deps.directory.trustedDevices(me()).some((e) => e.id !== core.myDevice());
      if (others) await changes.change(id, changes.planOwnDevices);
      await changes.change(id, addMembers);
      return { id };
    },
    add: (groupId, names) => changes.change(groupId, changes.planAdd(names)),
    setMeta: (groupId, meta) =>
      changes.change(groupId, async (state) => {
        changes.requireAdmin(state);
        const current = core.mls().groupMetaOf(state);
        const next = { name: meta.name ?? current.name, admins: [...(meta.admins ?? current.admins)] };
        if (next.name === current.name && next.admins.join() === current.admins.join()) return undefined;
        return { change: { meta: next }, welcomeTo: [] };
      }),
    remove: (groupId, names) => changes.change(groupId, changes.planRemove(names, true)),
    async leave(groupId) {
      await sealAndQueue(groupId, { v: 1, id: core.newId(), ts: clock(), text: '', ctl: 'leave' }, undefined);
      await flushOutbox();
      store.setStatus(groupId, 'left');
      core.forget(groupId);
      core.systemLine(groupId, 'you left the group');
    },
    async setTimer(groupId, seconds) {
      await sealAndQueue(
        groupId,
        { v: 1, id: core.newId(), ts: clock(), text: '', ctl: 'timer', exp: seconds ?? 0 },
        undefined,
      );
      void flushOutbox();
      deps.disappearing?.setTimer(groupPeer(groupId), seconds);
      core.systemLine(groupId, `${me()} set disappearing messages to ${timerWords(seconds)}`);
      events.emit({ type: 'timer', peer: groupPeer(groupId), seconds, by: me() });
    },
    async send(groupId, text) {
      if (new TextEncoder().encode(text).length > MAX_TEXT_BYTES) {
        throw new ClientError('INVALID_ARGUMENT', `messages are at most ${MAX_TEXT_BYTES} bytes`);
      }
      const id = core.newId();
      // Offline, the update waits for the next connection; the message is queued either way.
      await changes.updateKeysIfDue(groupId).catch((err: unknown) => {
        if (!isClientError(err, 'SERVER_UNREACHABLE')) events.warn('GROUP_RESUME_FAILED', err);
      });
      await sealAndQueue(groupId, { v: 1, id, ts: clock(), text }, text);
      void flushOutbox();
      return { id };
    },
    async sendAttachment(groupId, content, line) {
      await sealAndQueue(groupId, content, line);
      void flushOutbox();
      return { id: content.id };
    },
    async sendContent(groupId, content, line, annotate) {
      await sealAndQueue(groupId, content, line, annotate);
      void flushOutbox();
    },
    info: core.info,
    list: () => store.list().map((g) => core.info(g.id)),
    syncOwnDevices: changes.syncOwnDevices,
    receive: inbound.receive,
    async onConnected() {
      for (const p of store.pending()) {
        await core
          .locked(() => changes.settlePending(p.groupId))
          .catch((err: unknown) => events.warn('GROUP_RESUME_FAILED', err));
      }
      await flushOutbox();
      await stock.refill();
      for (const g of store.list()) {
        await changes.updateKeysIfDue(g.id).catch((err: unknown) => events.warn('GROUP_RESUME_FAILED', err));
      }
      void changes.syncOwnDevices();
    },
    refillKeyPackages: () => stock.refill(),
    async prepare() {
      if (store.list().length > 0) await core.ready();
    },
    stop() {
      changes.stop();
      outbox.stop();
    },
    async idle() {
      await inbound.idle();
      await core.quiet();
      await outbox.idle();
      await changes.syncing();
    },
  };
}
