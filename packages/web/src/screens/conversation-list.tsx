/**
 * The conversation list: one row per contact or group, most recent first, with the last line,
 * its time and the unread count; a field to start a conversation by name; "New group".
 */

import { groupIdOf, groupPeer } from '@parley/client/web';
import { useState } from 'preact/hooks';
import { dayLabel, otherDay, peerTitle, showBidi, timeLabel } from '../format.ts';
import { chatHref, go, type Route } from '../route.ts';
import type { Session } from '../session.ts';
import { ConversationFlags } from './conversation-flags.tsx';

export function ConversationList({ session, current }: { session: Session; current: Route }) {
  const { client } = session;
  const [name, setName] = useState('');
  const groupName = (id: string) => {
    try {
      return client.group(id).name;
    } catch {
      return undefined;
    }
  };
  const [showArchived, setShowArchived] = useState(false);
  const all = client.conversations();
  // Archived conversations are listed on their own, behind a button (pinned ones come first either way).
  const conversations = all.filter((c) => c.archived === showArchived);
  const archivedCount = all.filter((c) => c.archived).length;
  // Groups with no lines yet still belong in the list.
  const listed = new Set(all.map((c) => c.peer));
  const quietGroups = showArchived
    ? []
    : client.groups().filter((g) => g.status === 'active' && !listed.has(groupPeer(g.id)));
  const now = Date.now();

  return (
    <div class="conversations">
      <form
        class="start"
        aria-label="Start a conversation"
        onSubmit={(e) => {
          e.preventDefault();
          const n = name.trim().toLowerCase();
          if (n === '') return;
          setName('');
          go(chatHref(n));
        }}
      >
        <label class="sr-only" for="start-name">
          Account name
        </label>
        <input
          id="start-name"
          placeholder="Message someone by name"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
          autocomplete="off"
        />
        <button type="submit">Chat</button>
      </form>
      <a class="button new-group" href="#/new-group">
        New group
      </a>
      {conversations.length + quietGroups.length === 0 ? (
        <p class="hint">{showArchived ? 'No archived conversations.' : 'No conversations yet.'}</p>
      ) : (
        <ul class="conversation-list">
          {conversations.map((c) => {
            const title = peerTitle(c.peer, groupName);
            const at = c.last.receivedAt ?? c.last.sentAt;
            const active = current.name === 'chat' && current.peer === c.peer;
            const who =
              c.last.direction === 'out'
                ? 'You: '
                : groupIdOf(c.peer) !== undefined && c.last.direction === 'in'
                  ? `${c.last.sender}: `
                  : '';
            return (
              <li key={c.peer}>
                <a
                  href={chatHref(c.peer)}
                  class={active ? 'active' : undefined}
                  aria-current={active ? 'page' : undefined}
                  data-peer={c.peer}
                >
                  <bdi class="title">
                    {title}
                    <ConversationFlags pinned={c.pinned} muted={c.muted} blocked={c.blocked} />
                  </bdi>
                  <time dateTime={new Date(at).toISOString()}>
                    {otherDay(at, now) ? dayLabel(at, now) : timeLabel(at)}
                  </time>
                  {/* Someone else's text: bidi controls shown, and isolated from the rest of the row. */}
                  <span class="preview">
                    <bdi>{showBidi(who)}</bdi>
                    <bdi>{showBidi(c.last.text)}</bdi>
                  </span>
                  {c.unread > 0 && (
                    <span class="badge" data-testid="unread" data-count={c.unread}>
                      {c.unread}
                      <span class="sr-only"> unread</span>
                    </span>
                  )}
                </a>
              </li>
            );
          })}
          {quietGroups.map((g) => (
            <li key={g.id}>
              <a href={chatHref(groupPeer(g.id))} data-peer={groupPeer(g.id)}>
                <bdi class="title">{showBidi(g.name)}</bdi>
                <span class="preview">No messages yet</span>
              </a>
            </li>
          ))}
        </ul>
      )}
      {(archivedCount > 0 || showArchived) && (
        <button
          type="button"
          class="archived-toggle"
          aria-pressed={showArchived}
          data-testid="archived-toggle"
          onClick={() => setShowArchived(!showArchived)}
        >
          {showArchived ? 'Back to conversations' : `Archived (${archivedCount})`}
        </button>
      )}
    </div>
  );
}
