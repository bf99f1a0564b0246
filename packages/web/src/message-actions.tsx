/**
 * A message's conversation parts in the browser (docs/protocol.md §12.1): the quote of a reply,
 * the text (or a tombstone, or "needs a newer version"), "edited", reaction counts, and the
 * per-message actions — reply, react, edit and delete for everyone — each through the SDK,
 * which applies the same rules as every receiver and says why it refused.
 */

import type { ParleyClient, ReactionCount, StoredMessage } from '@parley/client/web';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/** The quick reactions offered; any one emoji works through the SDK and CLI. */
const QUICK = ['👍', '❤️', '😂', '😮', '😢'] as const;

type Mode = 'idle' | 'reply' | 'edit';

/** Edits and deletes for everyone are accepted by receivers only this long after sending (ms). */
const CHANGE_WINDOW = 24 * 60 * 60 * 1000;

/** A history line as the SDK returns it: with its reactions. */
export type ActionMessage = StoredMessage & { readonly reactions?: readonly ReactionCount[] };

/** The body of a bubble: quote, text or tombstone, edited mark, reactions. */
export function MessageBody({ m, body }: { m: ActionMessage; body?: ComponentChildren }) {
  return (
    <>
      {m.replyTo !== undefined && (
        <blockquote class="quote" data-testid="quote">
          <span class="quote-sender">{m.replyTo.sender}</span> {m.replyTo.snippet}
        </blockquote>
      )}
      {m.deleted ? (
        <p class="text deleted" data-testid="deleted">
          This message was deleted
        </p>
      ) : (
        (body ?? <p class="text">{m.text}</p>)
      )}
      {m.editedAt !== undefined && !m.deleted && (
        <span class="edited" data-testid="edited">
          edited
        </span>
      )}
      {(m.reactions?.length ?? 0) > 0 && (
        <span class="reactions" data-testid="reactions">
          {m.reactions?.map((r) => (
            <span class="reaction" title={r.by.join(', ')} key={r.emoji}>
              {r.emoji} {r.count}
            </span>
          ))}
        </span>
      )}
    </>
  );
}

/** Reply, react, edit and delete for one message. */
export function MessageActions({ client, peer, m }: { client: ParleyClient; peer: string; m: ActionMessage }) {
  const [open, setOpen] = useState(false);
  const [mode, setMode] = useState<Mode>('idle');
  const [draft, setDraft] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const panel = useRef<HTMLDivElement>(null);
  // The opened actions (and the reply or edit field) make the row taller: bring them into view.
  // The scroll this causes also makes the message list measure the row again.
  useEffect(() => panel.current?.scrollIntoView({ block: 'nearest' }), [open, mode]);
  if (m.direction === 'system' || m.deleted || m.kind === 'unsupported') return null;
  // Offered only while receivers would accept them; the SDK checks again and says why if not.
  const mine = m.direction === 'out' && Date.now() - m.sentAt < CHANGE_WINDOW;
  const myReaction = m.reactions?.find((r) => r.by.includes(client.name))?.emoji;
  const run = async (action: () => Promise<unknown>) => {
    setProblem(undefined);
    try {
      await action();
      setMode('idle');
      setDraft('');
      setOpen(false);
    } catch (err) {
      setProblem(err instanceof Error ? err.message : 'not sent');
    }
  };
  const submit = (e: Event) => {
    e.preventDefault();
    const text = draft.trim();
    if (text === '') return;
    void run(() => (mode === 'edit' ? client.edit(peer, m.id, text) : client.reply(peer, m.id, text)));
  };
  if (!open) {
    return (
      <button type="button" class="msg-actions-toggle" aria-label="Message actions" onClick={() => setOpen(true)}>
        ⋯
      </button>
    );
  }
  return (
    <div class="msg-actions" ref={panel}>
      <fieldset class="msg-action-row" aria-label="Message actions">
        <button type="button" onClick={() => setMode(mode === 'reply' ? 'idle' : 'reply')}>
          Reply
        </button>
        {QUICK.map((emoji) => (
          <button
            type="button"
            key={emoji}
            aria-label={myReaction === emoji ? `Remove reaction ${emoji}` : `React ${emoji}`}
            aria-pressed={myReaction === emoji}
            onClick={() => void run(() => client.react(peer, m.id, myReaction === emoji ? null : emoji))}
          >
            {emoji}
          </button>
        ))}
        {mine && (
          <button
            type="button"
            onClick={() => {
              setDraft(m.text);
              setMode(mode === 'edit' ? 'idle' : 'edit');
            }}
          >
            Edit
          </button>
        )}
        {mine && (
          <button type="button" onClick={() => void run(() => client.deleteForEveryone(peer, m.id))}>
            Delete for everyone
          </button>
        )}
        <button type="button" aria-label="Close message actions" onClick={() => setOpen(false)}>
          ✕
        </button>
      </fieldset>
      {mode !== 'idle' && (
        <form class="msg-action-form" onSubmit={submit}>
          <input
            aria-label={mode === 'edit' ? 'Edited text' : 'Reply text'}
            value={draft}
            onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
          />
          <button type="submit">{mode === 'edit' ? 'Save edit' : 'Send reply'}</button>
        </form>
      )}
      {problem !== undefined && (
        <p class="problem" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
