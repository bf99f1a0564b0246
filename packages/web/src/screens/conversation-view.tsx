/**
 * One conversation: messages grouped under day headings, each with its time and, for ours,
 * its state (sending, sent, delivered, read, not sent); a banner when the contact's safety
 * number changed; the compose box. Opening it marks it read (which sends read receipts).
 */
import type { ContactSafety, StoredMessage } from '@parley/client/web';
import { groupIdOf } from '@parley/client/web';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { dayLabel, otherDay, peerTitle, timeLabel } from '../format.ts';
import { describeError, type Session } from '../session.ts';
import { useSession } from '../use-session.ts';

const TICKS: Record<StoredMessage['status'], { mark: string; label: string }> = {
  pending: { mark: '◷', label: 'Sending' },
  held: { mark: 'held', label: 'Held: not sent (safety number changed)' },
  sent: { mark: '✓', label: 'Sent' },
  delivered: { mark: '✓✓', label: 'Delivered' },
  read: { mark: '✓✓', label: 'Read' },
  failed: { mark: '!', label: 'Not sent' },
  received: { mark: '', label: '' },
};

export function ConversationView({ session, peer }: { session: Session; peer: string }) {
  const { client } = session;
  const groupId = groupIdOf(peer);
  const isGroup = groupId !== undefined;
  const [safety, setSafety] = useState<ContactSafety | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [draft, setDraft] = useState('');
  // Messages the server refused for now (QUEUE_FULL): still queued, shown as waiting and why.
  const [waiting, setWaiting] = useState<ReadonlyMap<string, string>>(new Map());
  const listEnd = useRef<HTMLLIElement>(null);

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

  let group: ReturnType<typeof client.group> | undefined;
  if (groupId !== undefined) {
    try {
      group = client.group(groupId);
    } catch {
      group = undefined;
    }
  }
  const messages = client.history(peer, 500);
  const title = peerTitle(peer, () => group?.name);

  // Read while shown: new lines arriving while this is open are read too.
  useEffect(() => {
    if (document.visibilityState === 'visible') session.markRead(peer);
    listEnd.current?.scrollIntoView({ block: 'end' });
  }, [session, peer, tick, messages.length]);
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
  let previous: number | undefined;

  return (
    <section
      class="conversation"
      aria-label={`Conversation with ${title}`}
      data-ready={isGroup || safety !== undefined || problem !== undefined ? '' : undefined}
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
      {group !== undefined && group.status !== 'active' && (
        <div class="banner" role="status">
          <p>{group.status === 'left' ? 'You left this group.' : 'You were removed from this group.'}</p>
        </div>
      )}
      <ol class="messages" aria-label="Messages" aria-live="polite">
        {messages.map((m) => {
          const at = m.direction === 'in' ? (m.receivedAt ?? m.sentAt) : m.sentAt;
          const separator = previous === undefined || otherDay(previous, at);
          previous = at;
          const delayed = m.status === 'pending' ? waiting.get(m.id) : undefined;
          const t = delayed === undefined ? TICKS[m.status] : { mark: TICKS.pending.mark, label: delayed };
          return [
            separator && (
              <li key={`day-${at}`} class="day">
                {dayLabel(at)}
              </li>
            ),
            <li key={`${m.sender}/${m.id}`} class={`msg ${m.direction}`} data-status={m.status}>
              {m.direction === 'system' ? (
                <p class="system">{m.text}</p>
              ) : (
                <>
                  {isGroup && m.direction === 'in' && <span class="sender">{m.sender}</span>}
                  <p class="text">{m.text}</p>
                  <span class="meta">
                    <time dateTime={new Date(at).toISOString()}>{timeLabel(at)}</time>
                    {m.direction === 'out' && t.mark !== '' && (
                      <span
                        class={`tick tick-${m.status}`}
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
                  </span>
                </>
              )}
            </li>,
          ];
        })}
        <li ref={listEnd} class="end" aria-hidden="true" />
      </ol>
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
      <form class="compose" onSubmit={send} aria-label="Compose">
        <label class="sr-only" for="compose-text">
          Message
        </label>
        <textarea
          id="compose-text"
          rows={1}
          placeholder={canSend ? 'Message' : 'Sending is paused'}
          value={draft}
          disabled={!canSend}
          onInput={(e) => setDraft(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              (e.currentTarget.form as HTMLFormElement).requestSubmit();
            }
          }}
        />
        <button type="submit" disabled={!canSend}>
          Send
        </button>
      </form>
    </section>
  );
}
