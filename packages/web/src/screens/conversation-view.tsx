/**
 * One conversation: messages grouped under day headings, each with its time and, for ours,
 * its state (sending, sent, delivered, read, not sent); a banner when the contact's safety
 * number changed; the compose box. Opening it marks it read (which sends read receipts).
 */
import type { ContactSafety, StoredMessage } from '@parley/client/web';
import { groupIdOf } from '@parley/client/web';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AttachControls, AttachmentBody, attachmentOf, dropAndPaste, UploadBubbles } from '../attachments.tsx';
import { fitsLimit, RemainingLength, useAutoGrow, useDraft } from '../compose-extras.tsx';
import { peerTitle, timeLabel } from '../format.ts';
import { MessageActions, MessageBody } from '../message-actions.tsx';
import { MessageList } from '../message-list.tsx';
import { RichText } from '../rich-text.tsx';
import { describeError, type Session } from '../session.ts';
import { useSession } from '../use-session.ts';
import { ConversationActions } from './conversation-actions.tsx';

/** How many of a conversation's newest messages are loaded (the list renders only what is visible). */
const HISTORY_LIMIT = 20_000;

const TICKS: Record<StoredMessage['status'], { mark: string; label: string }> = {
  pending: { mark: '◷', label: 'Sending' },
  held: { mark: 'held', label: 'Held: not sent (safety number changed)' },
  sent: { mark: '✓', label: 'Sent' },
  delivered: { mark: '✓✓', label: 'Delivered' },
  read: { mark: '✓✓', label: 'Read' },
  failed: { mark: '!', label: 'Not sent' },
  received: { mark: '', label: '' },
};
const WAITING = { mark: 'waiting', label: 'Waiting: will be sent when reconnected' };

export function ConversationView({ session, peer }: { session: Session; peer: string }) {
  const { client } = session;
  const groupId = groupIdOf(peer);
  const isGroup = groupId !== undefined;
  const [safety, setSafety] = useState<ContactSafety | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  // Messages dropped since this opened because they came from a device not on the peer's signed list.
  const [unlisted, setUnlisted] = useState(0);
  // Key transparency (docs/protocol.md §20): a mismatch of our own entry, a split view or a refused key.
  const [directoryAlarm, setDirectoryAlarm] = useState<string | undefined>();
  const [draft, setDraft] = useDraft(peer);
  // Messages the server refused for now (QUEUE_FULL): still queued, shown as waiting and why.
  const [waiting, setWaiting] = useState<ReadonlyMap<string, string>>(new Map());
  // Counted once, before opening marks them read: where the "Unread messages" divider goes.
  const [unreadAtOpen] = useState(() => client.conversations().find((c) => c.peer === peer)?.unread ?? 0);
  const compose = useRef<HTMLTextAreaElement>(null);
  useAutoGrow(compose, draft);

  const loadSafety = useCallback(() => {
    if (isGroup) return;
    client.safety(peer).then(
      (s) => {
        setSafety(s);
        setProblem(undefined);
      },
      (err) => setProblem(describeError(err)),
    );
  }, [client, peer, isGroup]);
  useEffect(loadSafety, [loadSafety]);

  const onEvent = useCallback(
    (e: Parameters<Parameters<Session['subscribe']>[0]>[0]) => {
      if (e?.type === 'identity-changed' && e.name === peer) loadSafety();
      if (e?.type === 'held' && e.to === peer) loadSafety();
      if (e?.type === 'device-list-stale' && e.name === peer) loadSafety();
      if (e?.type === 'unlisted-device' && e.from === peer) setUnlisted((n) => n + 1);
      if (e?.type === 'directory-mismatch') setDirectoryAlarm(e.message);
      if (e?.type === 'directory-refused' && e.name === peer) setDirectoryAlarm(e.message);
      if (e?.type === 'directory-split-view') {
        setDirectoryAlarm(
          `the server showed two different key directories (epoch ${e.epoch}); both signed heads are kept as evidence`,
        );
      }
      if (e?.type === 'send-failed' && e.to === peer) setProblem(e.reason);
      if (e?.type === 'send-delayed' && e.to === peer) {
        const why = isGroup
          ? 'a member’s queue on the server is full'
          : e.cap === 'sender-share'
            ? `${peer} has not taken the messages you already sent`
            : `${peer}’s queue on the server is full`;
        setWaiting((w) => new Map(w).set(e.id, `Waiting: ${why}; it is sent once there is room`));
      }
      if (e?.type === 'sent' && e.to === peer) {
        setWaiting((w) => {
          if (!w.has(e.id)) return w;
          const next = new Map(w);
          next.delete(e.id);
          return next;
        });
      }
    },
    [peer, loadSafety, isGroup],
  );
  const tick = useSession(session, onEvent);
  const offline = session.connection() !== 'connected';

  let group: ReturnType<typeof client.group> | undefined;
  if (groupId !== undefined) {
    try {
      group = client.group(groupId);
    } catch {
      group = undefined;
    }
  }
  // Re-read only when the client reported something (not on every scroll).
  const messages = useMemo(() => client.history(peer, HISTORY_LIMIT), [client, peer, tick]);
  const title = peerTitle(peer, () => group?.name);

  // Read while shown: new lines arriving while this is open are read too.
  useEffect(() => {
    if (document.visibilityState === 'visible') session.markRead(peer);
  }, [session, peer, tick, messages.length]);
  useEffect(() => compose.current?.focus(), []);
  useEffect(() => {
    const on = () => document.visibilityState === 'visible' && session.markRead(peer);
    document.addEventListener('visibilitychange', on);
    return () => document.removeEventListener('visibilitychange', on);
  }, [session, peer]);

  const send = async (e: Event) => {
    e.preventDefault();
    const text = draft.trim();
    if (text === '') return;
    setDraft('');
    try {
      if (groupId !== undefined) await client.sendToGroup(groupId, text);
      else await client.send(peer, text);
      setProblem(undefined);
    } catch (err) {
      setDraft(text);
      setProblem(describeError(err));
    }
  };

  // Sends to a contact whose key changed are allowed: they are held (and shown as held) until
  // the user sends anyway or verifies.
  const canSend = groupId === undefined ? true : group?.status === 'active';
  const heldCount = messages.filter((m) => m.direction === 'out' && m.status === 'held').length;
  const sendAnyway = async () => {
    try {
      await client.acceptChange(peer);
      loadSafety();
    } catch (err) {
      setProblem(describeError(err));
    }
  };

  const files = session.attachments;
  return (
    <section
      class="conversation"
      aria-label={`Conversation with ${title}`}
      data-ready={isGroup || safety !== undefined || problem !== undefined ? '' : undefined}
      {...dropAndPaste(files, peer, canSend)}
    >
      <header class="conversation-head">
        <a href="#/" class="back" aria-label="Back to conversations">
          ←
        </a>
        <h2>
          <bdi>{title}</bdi>
        </h2>
        {groupId !== undefined ? (
          <a href={`#/group/${encodeURIComponent(groupId)}`}>Group info</a>
        ) : (
          <a href={`#/safety/${encodeURIComponent(peer)}`}>
            Safety number{safety?.verified && !safety.changed ? ' ✔' : ''}
          </a>
        )}
        <ConversationActions session={session} peer={peer} title={title} />
      </header>
      {safety !== undefined && (safety.changed || (safety.changedAt !== undefined && !safety.verified)) && (
        <div class="banner warn" role="alert" data-testid="key-change-banner">
          {safety.changed ? (
            <p>
              <strong>{peer}'s safety number changed.</strong> Messages to {peer} are held, not sent
              {heldCount > 0 ? ` (${heldCount} held)` : ''}, until you compare the new number
              {safety.verified ? ' and verify it again' : ', or send anyway'}.
            </p>
          ) : (
            <p>
              <strong>{peer}'s safety number changed.</strong> They may have reinstalled Parley, or someone may be
              intercepting. Compare numbers to be sure.
            </p>
          )}
          <a class="button" href={`#/safety/${encodeURIComponent(peer)}`}>
            Compare safety numbers
          </a>
          {safety.changed && !safety.verified && (
            <button type="button" onClick={sendAnyway} data-testid="send-anyway">
              Send anyway
            </button>
          )}
        </div>
      )}
      {safety?.staleDeviceList !== undefined && (
        <div class="banner warn" role="alert" data-testid="device-list-banner">
          <p>
            <strong>The server may be hiding a removed device of {peer}.</strong> {peer}'s own messages announce device
            list version {safety.staleDeviceList.announced}, but the server serves version{' '}
            {safety.staleDeviceList.trusted}. Nothing is sent to {peer} until the newer list arrives.
          </p>
        </div>
      )}
      {directoryAlarm !== undefined && (
        <div class="banner warn" role="alert" data-testid="directory-banner">
          <p>
            <strong>Key directory warning:</strong> {directoryAlarm}.
          </p>
        </div>
      )}
      {unlisted > 0 && (
        <div class="banner warn" role="alert" data-testid="unlisted-device-banner">
          <p>
            Dropped {unlisted === 1 ? 'a message' : `${unlisted} messages`} from a device of {peer} that is not on{' '}
            {peer}'s signed device list.
          </p>
        </div>
      )}
      {group !== undefined && group.status !== 'active' && (
        <div class="banner" role="status">
          <p>{group.status === 'left' ? 'You left this group.' : 'You were removed from this group.'}</p>
        </div>
      )}
      <MessageList
        messages={messages}
        unreadAtOpen={unreadAtOpen}
        bubble={(m, at) => {
          // While offline a pending line is not "sending": it waits for the connection.
          // Refused for now by the server (QUEUE_FULL): still queued, waiting for room.
          const delayed = m.status === 'pending' ? waiting.get(m.id) : undefined;
          const t =
            m.status === 'pending' && offline
              ? WAITING
              : delayed === undefined
                ? TICKS[m.status]
                : { mark: TICKS.pending.mark, label: delayed };
          return (
            <div class={`msg ${m.direction}`} data-status={m.status}>
              {m.direction === 'system' ? (
                <p class="system">{m.text}</p>
              ) : (
                <>
                  <span class="sr-only">{m.direction === 'out' ? 'You:' : `${m.sender}:`}</span>
                  {isGroup && m.direction === 'in' && (
                    <span class="sender" aria-hidden="true">
                      {m.sender}
                    </span>
                  )}
                  {(() => {
                    const entry = attachmentOf(files, m);
                    return (
                      <MessageBody
                        m={m}
                        body={entry ? <AttachmentBody store={files} entry={entry} /> : <RichText text={m.text} />}
                      />
                    );
                  })()}
                  <span class="meta">
                    <time dateTime={new Date(at).toISOString()}>{timeLabel(at)}</time>
                    {m.direction === 'out' && t.mark !== '' && (
                      <span
                        class={`tick tick-${t === WAITING ? 'waiting' : m.status}`}
                        role="img"
                        aria-label={t.label}
                        title={t.label}
                        data-testid="tick"
                      >
                        {t.mark}
                      </span>
                    )}
                    {delayed !== undefined && (
                      <span class="waiting" data-testid="waiting">
                        {delayed}
                      </span>
                    )}
                    <MessageActions client={client} peer={peer} m={m} />
                  </span>
                </>
              )}
            </div>
          );
        }}
      />
      <UploadBubbles store={files} peer={peer} />
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <form class="compose" onSubmit={send} aria-label="Compose">
        <AttachControls store={files} peer={peer} disabled={!canSend} />
        <label class="sr-only" for="compose-text">
          Message
        </label>
        <textarea
          ref={compose}
          id="compose-text"
          rows={1}
          placeholder={canSend ? 'Message' : 'Sending is paused'}
          value={draft}
          dir="auto"
          disabled={!canSend}
          onInput={(e) => setDraft(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              (e.currentTarget.form as HTMLFormElement).requestSubmit();
            }
          }}
        />
        <RemainingLength text={draft} />
        <button type="submit" disabled={!canSend || !fitsLimit(draft)}>
          Send
        </button>
      </form>
    </section>
  );
}
