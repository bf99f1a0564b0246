/**
 * A conversation's own controls, in its header: pin, mute, archive, block (one-to-one only)
 * and delete. All of them are local to this browser's home (the SDK's conversation settings);
 * nobody is told. Deleting asks first, and goes back to the list.
 */
import { groupIdOf } from '@parley/client/web';
import { useState } from 'preact/hooks';
import { go } from '../route.ts';
import { describeError, type Session } from '../session.ts';
import { useSession } from '../use-session.ts';

export function ConversationActions({ session, peer, title }: { session: Session; peer: string; title: string }) {
  const { client } = session;
  useSession(session);
  const [problem, setProblem] = useState<string | undefined>();
  const [confirming, setConfirming] = useState(false);
  const summary = client.conversations().find((c) => c.peer === peer);
  const isGroup = groupIdOf(peer) !== undefined;
  const blocked = !isGroup && client.blocked().includes(peer);
  const act = (fn: () => void) => () => {
    try {
      fn();
      setProblem(undefined);
    } catch (err) {
      setProblem(describeError(err));
    }
  };
  const toggle = (label: string, on: boolean, set: (on: boolean) => void, testid: string) => (
    <button type="button" aria-pressed={on} data-testid={testid} onClick={act(() => set(!on))}>
      {label}
    </button>
  );

  return (
    <div class="conversation-actions">
      <details class="menu">
        <summary aria-label={`Options for ${title}`}>⋯</summary>
        <div class="menu-items">
          {toggle(
            summary?.pinned ? 'Unpin' : 'Pin',
            summary?.pinned ?? false,
            (on) => client.setPinned(peer, on),
            'pin',
          )}
          {toggle(
            summary?.muted ? 'Unmute' : 'Mute',
            summary?.muted ?? false,
            (on) => client.setMuted(peer, on),
            'mute',
          )}
          {toggle(
            summary?.archived ? 'Unarchive' : 'Archive',
            summary?.archived ?? false,
            (on) => {
              client.setArchived(peer, on);
              if (on) go('#/');
            },
            'archive',
          )}
          {!isGroup &&
            toggle(
              blocked ? 'Unblock' : 'Block',
              blocked,
              (on) => (on ? client.block(peer) : client.unblock(peer)),
              'block',
            )}
          {summary !== undefined &&
            (confirming ? (
              <fieldset class="confirm">
                <legend>Delete this conversation from this browser?</legend>
                <button
                  type="button"
                  class="danger"
                  data-testid="delete-confirm"
                  onClick={act(() => {
                    client.forgetConversation(peer);
                    go('#/');
                  })}
                >
                  Delete
                </button>
                <button type="button" onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </fieldset>
            ) : (
              <button type="button" data-testid="delete" onClick={() => setConfirming(true)}>
                Delete conversation
              </button>
            ))}
        </div>
      </details>
      {blocked && (
        <p class="blocked-note" role="status">
          You blocked {peer}. Their messages are dropped and they get no receipts.
        </p>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
