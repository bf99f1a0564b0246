/**
 * The one-to-one outbox lane: each entry is one content (a message, a receipt or a resend) to
 * one account, encrypted at its first try and kept with its ciphertexts, so a retry repeats the
 * same bytes under the same relay message id. A `STALE_DEVICES` refusal refreshes the account's
 * trusted list and encrypts again, up to `MAX_STALE_RETRIES` times; devices the server claims
 * but the account key never signed (a "ghost") are reported and never encrypted to.
 */
import type { WireOutgoing } from '@parley/protocol';
import { encodeContent, type OutgoingContent, readContent } from '../content.ts';
import { queueFullCap, queueFullError } from '../delivery/classify-send-error.ts';
import type { OutboxLane } from '../delivery/outbox-runner.ts';
import type { Directory } from '../directory/directory.ts';
import { isClientError, isRelayRefusal } from '../errors.ts';
import type { EventHub } from '../events.ts';
import { type RelayLink, requireConnected } from '../relay/relay-link.ts';
import type { EncryptFor } from './fan-out.ts';
import type { DirectStore, OutboxRow } from './store.ts';

/** Whether queued content is a reaction, edit or delete for everyone. */
function isConversationChange(content: Uint8Array): boolean {
  const r = readContent(content);
  return r.ok && (r.value.kind === 'reaction' || r.value.kind === 'edit' || r.value.kind === 'delete');
}

/**
 * A disappearing message's timer (seconds), sent as `expiresIn` so the server drops copies still
 * queued when it expires (§21.4); undefined for anything else, a timer change included.
 */
function expiresIn(content: Uint8Array): number | undefined {
  const r = readContent(content);
  if (!r.ok) return undefined;
  const v = r.value;
  if (v.kind === 'text') return v.content.ctl === undefined ? v.content.exp : undefined;
  return v.kind === 'attachment' ? v.content.exp : undefined;
}

/** How many times a send is re-encrypted after the server reports a stale device set. */
const MAX_STALE_RETRIES = 3;

/** What the lane needs. */
export interface DirectOutboxDeps {
  readonly store: DirectStore;
  readonly directory: Directory;
  readonly events: EventHub;
  readonly encryptFor: EncryptFor;
  readonly clock: () => number;
  newId(): string;
  me(): string;
  link(): RelayLink | undefined;
}

/** The lane, plus what sending needs: queueing, and waiting for one message's outcome. */
export interface DirectOutbox extends OutboxLane<OutboxRow> {
  /**
   * Queues content for `recipient` (all its listed devices, or only `only`), stamped with our
   * account's current device-list version and hash (docs/protocol.md §10, "Never go back").
   */
  queue(content: OutgoingContent, recipient: string, only: number | null): void;
  /** Resolves when the message `id` is accepted by the server; rejects with why it was not. */
  waitFor(id: string): Promise<void>;
  /** Stops waiting for `id` (the caller heard why already). */
  forget(id: string): void;
  /**
   * Stops waiting for `id` if it is still unsettled (still in the outbox), rejecting its waiter
   * with `err`; a message already accepted or refused is left as it was.
   */
  abandon(id: string, err: unknown): void;
}

/** Creates the one-to-one outbox lane. */
export function createDirectOutbox(deps: DirectOutboxDeps): DirectOutbox {
  const { store, directory, events } = deps;
  const waiters = new Map<string, { resolve(): void; reject(err: unknown): void }>();

  const settle = (id: string, err?: unknown): void => {
    const w = waiters.get(id);
    waiters.delete(id);
    if (err === undefined) w?.resolve();
    else w?.reject(err);
  };

  const deliver = async (row: OutboxRow): Promise<void> => {
    let payload: WireOutgoing[] | undefined = row.payload === null ? undefined : JSON.parse(row.payload);
    // Set when the server claims devices the signed list does not have: we send to the signed ones only.
    let subset = row.only_device !== null;
    // A disappearing message: the server drops copies still queued when it expires (§21.4).
    const exp = expiresIn(row.content);
    for (let attempt = 0; ; attempt++) {
      if (payload === undefined) {
        payload = await deps.encryptFor(row.recipient, row.content, row.only_device);
        store.setPayload(row.seq, JSON.stringify(payload));
      }
      if (payload.length === 0) return; // nothing to send to (e.g. no other own devices)
      try {
        await requireConnected(deps.link()).request('send', {
          name: row.recipient,
          messageId: row.transport_id,
          messages: payload,
          ...(subset ? { resend: true } : {}),
          ...(exp === undefined ? {} : { expiresIn: exp }),
        });
        return;
      } catch (err) {
        if (!isRelayRefusal(err, 'STALE_DEVICES') || attempt >= MAX_STALE_RETRIES) throw err;
        await directory.refresh(row.recipient);
        const listed = directory.listedDevices(row.recipient);
        for (const ghost of (err.details?.missing ?? []).filter((id) => !listed.includes(id))) {
          // A device the server has but the account key never signed: the "ghost". Never encrypt to it.
          events.emit({ type: 'unlisted-device', from: row.recipient, fromDevice: ghost });
          subset = true;
        }
        payload = undefined;
      }
    }
  };

  return {
    pending: () => store.outbox(),
    key: (row) => row.recipient,
    deliver,
    sent(row) {
      const me = deps.me();
      store.dropOutbox(row.seq);
      const identities = JSON.stringify(directory.identitiesOf(row.recipient));
      store.recordSent(row.transport_id, row.message_id, row.recipient, identities, deps.clock());
      if (row.recipient !== me || row.only_device !== null) store.markSent(me, row.message_id);
      // Receipts have no line in the history, and no `sent` event; reactions, edits and deletes
      // have no line of their own but do (the CLI says when they went out).
      if (store.message(me, row.message_id) !== undefined || isConversationChange(row.content))
        events.emit({ type: 'sent', id: row.message_id, to: row.recipient });
      settle(row.message_id);
    },
    failed(row, err) {
      store.dropOutbox(row.seq);
      store.setStatus(deps.me(), row.message_id, 'failed');
      // An account that is gone (deleted, or never registered) is said in words a person can act on.
      const gone = isRelayRefusal(err, 'UNKNOWN_ACCOUNT') || isClientError(err, 'UNKNOWN_ACCOUNT');
      const reason = gone
        ? `there is no account named ${row.recipient} on the server (it was deleted, or never existed)`
        : err instanceof Error
          ? err.message
          : 'send failed';
      events.emit({ type: 'send-failed', id: row.message_id, to: row.recipient, reason });
      settle(row.message_id, err);
    },
    // Kept in the outbox until the user acts on the key change; the caller hears why now. A
    // message of ours is marked held (and moved after the change line), and the user told.
    blocked(row, err) {
      const me = deps.me();
      const line = store.message(me, row.message_id);
      const ours = line !== undefined && line.direction === 'out' && line.peer === row.recipient;
      if (ours && line.status === 'pending' && row.only_device === null && isClientError(err, 'UNTRUSTED_IDENTITY')) {
        store.transaction(() => {
          store.setStatus(me, row.message_id, 'held');
          store.moveToEnd(me, row.message_id);
        });
        events.emit({ type: 'held', id: row.message_id, to: row.recipient, reason: err.message });
        // The user is told now: under `block-verified` their later sends may go.
        directory.changeShown(row.recipient);
      }
      settle(row.message_id, err);
    },
    // Kept in the outbox and retried until the recipient's queue has room; the caller hears why now.
    delayed(row, err) {
      if (store.message(deps.me(), row.message_id) !== undefined) {
        const cap = queueFullCap(err);
        events.emit({ type: 'send-delayed', id: row.message_id, to: row.recipient, reason: 'QUEUE_FULL', cap });
      }
      if (waiters.has(row.message_id)) settle(row.message_id, queueFullError(err, row.recipient));
    },
    queue(content, recipient, only) {
      const stamped = { ...content, ...directory.ownStamp() };
      store.queueOutbox(content.id, recipient, deps.newId(), encodeContent(stamped), only, deps.clock());
    },
    waitFor: (id) => new Promise<void>((resolve, reject) => waiters.set(id, { resolve, reject })),
    forget(id) {
      waiters.delete(id);
    },
    abandon(id, err) {
      if (waiters.has(id)) settle(id, err);
    },
  };
}
