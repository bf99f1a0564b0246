/**
 * The inbound side of groups (docs/protocol.md §14.5): Welcomes, commits and application
 * messages, each checked by ts-mls and by Parley's commit policy before anything is stored or
 * acknowledged. Anything refused is reported as a `group-rejected` event and acknowledged; a
 * delivery whose credential check could not reach the server is left unacknowledged, to be
 * delivered again.
 */
import { fromBase64Url, type GroupProtocol, isProtocolError, type ServerFrame } from '@parley/protocol';
import type { GroupLeaf, GroupState } from '@parley/protocol/groups';
import { decodeHeadGossip, decodeListStamp, readContent, type TextContent, UNSUPPORTED_TEXT } from '../content.ts';
import { isTimerSeconds, timerWords } from '../disappearing/timers.ts';
import { ClientError } from '../errors.ts';
import { groupPeer } from '../peer.ts';
import type { GroupChanges } from './group-changes.ts';
import type { GroupCore } from './group-core.ts';

/** A delivery frame from the server. */
export type Deliver = Extract<ServerFrame, { type: 'deliver' }>;

/** The inbound operations. */
export interface GroupInbound {
  /** Processes a group or welcome delivery in arrival order; acknowledges it when done. */
  receive(f: Deliver): void;
  /** Settles once every delivery received so far was processed. */
  idle(): Promise<void>;
}

/** Creates the inbound side over the shared core. */
export function createGroupInbound(
  core: GroupCore,
  changes: GroupChanges,
  refillKeyPackages: () => Promise<void>,
): GroupInbound {
  const { store, deps, me } = core;
  const { events } = deps;
  let inbound: Promise<void> = Promise.resolve();

  const reject = (f: Deliver, groupId: string | undefined, reason: string): void => {
    events.emit({ type: 'group-rejected', group: groupId, from: f.from, reason });
  };

  const onWelcome = async (f: Deliver): Promise<void> => {
    const mls = core.mls();
    let read: ReturnType<GroupProtocol['readWelcome']>;
    try {
      read = mls.readWelcome(fromBase64Url('body', f.body));
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      return reject(f, undefined, 'malformed welcome');
    }
    const ref = read.refs.find((r) => store.keyPackage(r) !== undefined);
    if (ref === undefined) return reject(f, undefined, 'welcome for a KeyPackage this device does not hold');
    const kp = store.keyPackage(ref);
    if (kp === undefined) return;
    let state: GroupState;
    try {
      state = await mls.joinFromWelcome(
        read.welcome,
        mls.decodeKeyPackageMessage(kp.publicBytes),
        mls.decodePrivateKeys(kp.privateBytes, deps.profile().identity.signingPrivateKey),
        core.config(),
      );
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      if (core.transientFailure()) throw new ClientError('SERVER_UNREACHABLE', 'could not check the group members');
      return reject(f, undefined, `welcome refused: ${err.message}`);
    }
    const { groupId } = mls.groupPosition(state);
    if (store.get(groupId)?.status === 'active') return;
    const meta = mls.groupMetaOf(state);
    store.transaction(() => {
      core.save(groupId, state);
      store.markKeyUpdated(groupId, deps.clock());
      store.dropKeyPackage(ref);
    });
    core.systemLine(groupId, `you were added to “${meta.name}”`);
    events.emit({ type: 'group-joined', group: groupId, name: meta.name });
    void refillKeyPackages().catch((err: unknown) => events.warn('KEY_PACKAGE_REFILL_FAILED', err));
  };

  const describe = (leaves: GroupLeaf[]) => [...new Set(leaves.map((l) => l.account))];

  const onGroupMessage = async (f: Deliver): Promise<void> => {
    const mls = core.mls();
    const body = fromBase64Url('body', f.body);
    const position = mls.peekGroupMessage(body);
    const row = position === undefined ? undefined : store.get(position.groupId);
    if (position === undefined || row === undefined)
      return reject(f, position?.groupId, 'message for an unknown group');
    if (row.status !== 'active') return;
    const groupId = position.groupId;
    await changes.settlePending(groupId);
    let opened: Awaited<ReturnType<GroupProtocol['openGroupMessage']>>;
    try {
      opened = await mls.openGroupMessage(core.load(groupId), body, mls.groupCommitPolicy(new Set(row.departed)));
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      // Opened before: delivered again because the server did not record our acknowledgement
      // (e.g. it was killed first). Already stored and shown; acknowledged again, nothing said.
      if (err.code === 'DUPLICATE_MESSAGE') return;
      if (core.transientFailure()) throw new ClientError('SERVER_UNREACHABLE', 'could not check the group members');
      return reject(f, groupId, err.message);
    }
    if (opened.kind === 'application') {
      const read = readContent(opened.data);
      const decoded = read.ok ? read.value : undefined;
      if (!read.ok) deps.conversations?.rejected(opened.sender.account, read.error);
      const view = decoded?.kind === 'attachment' ? deps.attachment?.(decoded) : undefined;
      let content: TextContent | undefined;
      if (decoded?.kind === 'attachment' && view !== undefined) {
        const { id, ts, exp } = decoded.content;
        content = { v: 1, id, ts, text: view.text, ...(exp === undefined ? {} : { exp }) };
      } else if (decoded?.kind === 'text') content = decoded.content;
      else if (decoded?.kind === 'unsupported') {
        content = { v: 1, id: decoded.content.id, ts: decoded.content.ts, text: UNSUPPORTED_TEXT };
      }
      const change =
        decoded?.kind === 'reaction' || decoded?.kind === 'edit' || decoded?.kind === 'delete' ? decoded : undefined;
      const sender = opened.sender;
      store.transaction(() => {
        core.save(groupId, opened.state);
        if (content === undefined) return;
        if (content.ctl === 'leave') store.addDeparted(groupId, sender.account);
        else if (content.ctl === 'timer') {
          const seconds = isTimerSeconds(content.exp) ? content.exp : undefined;
          deps.disappearing?.setTimer(groupPeer(groupId), seconds);
          core.systemLine(groupId, `${sender.account} set disappearing messages to ${timerWords(seconds)}`);
        } else {
          const direction = sender.account === me() ? 'out' : 'in';
          core.insertLine({
            id: content.id,
            groupId,
            direction,
            sender: sender.account,
            senderDevice: sender.device,
            text: content.text,
            sentAt: content.ts,
            receivedAt: deps.clock(),
            status: direction === 'out' ? 'sent' : 'received',
          });
          deps.conversations?.lineStored(groupPeer(groupId), sender.account, content.id, {
            ...(content.re === undefined ? {} : { re: content.re }),
            unsupported: decoded?.kind === 'unsupported',
          });
          if (content.exp !== undefined)
            deps.disappearing?.start(sender.account, content.id, content.exp, deps.clock());
        }
      });
      if (change !== undefined) deps.conversations?.apply(groupPeer(groupId), sender.account, change);
      if (content?.ctl === 'leave') {
        core.systemLine(groupId, `${sender.account} left`);
        // Any member may commit the removal of an account that announced leaving (§14.4).
        void changes
          .change(groupId, changes.planRemove([sender.account], false))
          .catch((err: unknown) => events.warn('GROUP_REMOVAL_FAILED', err));
      } else if (content?.ctl === 'timer') {
        const seconds = isTimerSeconds(content.exp) ? content.exp : undefined;
        events.emit({ type: 'timer', peer: groupPeer(groupId), seconds, by: sender.account });
      } else if (content !== undefined) {
        const message = core.emitLine(sender.account, content.id);
        if (message !== undefined && view !== undefined) view.emit(message);
      }
      // The sender's device-list stamp: a newer list than we trust is fetched, and until the server
      // serves it nothing is sent to that account (docs/protocol.md §10, "Never go back").
      const stamp = decodeListStamp(opened.data);
      if (stamp !== undefined && stamp !== 'malformed')
        await deps.directory.noteAnnounced(sender.account, stamp.version, stamp.hash);
      const gossip = decodeHeadGossip(opened.data);
      if (gossip !== undefined) await deps.directory.noteGossip(sender.account, gossip);
      return;
    }
    const before = mls.groupLeaves(opened.previous);
    const after = mls.isRemoved(opened.state) ? [] : mls.groupLeaves(opened.state);
    const added = describe(after.filter((l) => !before.some((b) => b.leaf === l.leaf && b.account === l.account)));
    const removed = describe(before.filter((b) => !after.some((l) => l.leaf === b.leaf && l.account === b.account)));
    const by = opened.committer.account;
    if (mls.isRemoved(opened.state)) {
      core.save(groupId, opened.state, 'removed');
      core.systemLine(groupId, `${by} removed you`);
      events.emit({ type: 'group-removed', group: groupId, by });
      return;
    }
    core.save(groupId, opened.state);
    for (const a of added) if (a !== by) core.systemLine(groupId, `${by} added ${a}`);
    for (const a of removed) if (a !== by) core.systemLine(groupId, `${by} removed ${a}`);
    events.emit({
      type: 'group-updated',
      group: groupId,
      epoch: mls.groupPosition(opened.state).epoch,
      by,
      added,
      removed,
    });
  };

  return {
    receive(f) {
      inbound = inbound.then(() =>
        core
          .locked(async () => {
            core.resetTransientFailure();
            if (f.kind === 'welcome') await onWelcome(f);
            else await onGroupMessage(f);
          })
          .then(
            () => deps.link()?.ack(f.seq),
            () => {
              // Not acknowledged: delivered again on the next connection.
            },
          ),
      );
    },
    idle: () => inbound,
  };
}
