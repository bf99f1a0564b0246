/**
 * Accessibility helpers of the messenger shell: a skip link to the open conversation's messages,
 * the keyboard shortcuts (listed in a dialog under `?`), and one polite live region that gets
 * only the newest incoming message (the message list itself is not live, so opening a
 * conversation or scrolling announces nothing).
 */
import type { ClientEvent } from '@parley/client/web';
import { groupIdOf } from '@parley/client/web';
import { useEffect, useRef, useState } from 'preact/hooks';
import { chatHref, go } from './route.ts';
import type { Session } from './session.ts';

/** The shortcuts, as the dialog lists them. */
export const SHORTCUTS: readonly (readonly [string, string])[] = [
  ['?', 'Show this list of shortcuts'],
  ['/', 'Go to "Message someone by name"'],
  ['Alt + ↓ / Alt + ↑', 'Open the next / previous conversation'],
  ['Escape', 'Close this list, or go back to the conversations'],
  ['Enter / Shift + Enter', 'Send / new line, in the message box'],
];

/** Moves focus to the open conversation's messages (else to the conversation list). */
function focusMessages(): void {
  const target =
    document.querySelector<HTMLElement>('.messages') ?? document.querySelector<HTMLElement>('.conversation-list a');
  target?.focus();
}

/** "Skip to messages": the first thing a keyboard reaches on the page. */
export function SkipLink() {
  return (
    // A button: it moves focus, and the URL hash is the router's (an in-page #anchor would navigate).
    <button type="button" class="skip-link" onClick={focusMessages}>
      Skip to messages
    </button>
  );
}

/** Whether the key press happened while typing in a field (shortcuts other than Escape stay out of the way). */
const typing = (e: KeyboardEvent): boolean => {
  const t = e.target as HTMLElement | null;
  return t !== null && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable);
};

/** Opens the conversation `step` places after (or before) the open one in the list. */
function stepConversation(step: 1 | -1): void {
  const links = Array.from(document.querySelectorAll<HTMLAnchorElement>('.conversation-list a[data-peer]'));
  if (links.length === 0) return;
  const at = links.findIndex((a) => a.getAttribute('aria-current') === 'page');
  const next = links[(at + step + links.length) % links.length] ?? links[0];
  const peer = next?.getAttribute('data-peer');
  if (peer) go(chatHref(peer));
}

/** The keyboard shortcuts and their `?` dialog. */
export function Shortcuts() {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const on = (e: KeyboardEvent) => {
      if (e.key === '?' && !typing(e)) {
        e.preventDefault();
        if (!dialog.current?.open) dialog.current?.showModal();
      } else if (e.key === '/' && !typing(e) && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        document.getElementById('start-name')?.focus();
      } else if (e.altKey && (e.key === 'ArrowDown' || e.key === 'ArrowUp')) {
        e.preventDefault();
        stepConversation(e.key === 'ArrowDown' ? 1 : -1);
      } else if (e.key === 'Escape' && !dialog.current?.open && location.hash.startsWith('#/chat/')) {
        go('#/');
      }
    };
    addEventListener('keydown', on);
    return () => removeEventListener('keydown', on);
  }, []);
  return (
    <dialog ref={dialog} class="shortcuts" aria-labelledby="shortcuts-title" data-testid="shortcuts">
      <h2 id="shortcuts-title">Keyboard shortcuts</h2>
      <dl>
        {SHORTCUTS.map(([keys, what]) => (
          <div key={keys}>
            <dt>
              <kbd>{keys}</kbd>
            </dt>
            <dd>{what}</dd>
          </div>
        ))}
      </dl>
      <form method="dialog">
        <button type="submit">Close</button>
      </form>
    </dialog>
  );
}

/** What a screen reader is told of a new incoming message: who, where, and the text. */
export function announcement(
  e: ClientEvent | undefined,
  groupName: (id: string) => string | undefined,
): string | undefined {
  if (e?.type !== 'message' || e.message.direction !== 'in') return undefined;
  const { peer, sender, text } = e.message;
  const id = groupIdOf(peer);
  const where = id === undefined ? '' : ` in ${groupName(id) ?? 'a group'}`;
  return `${sender}${where}: ${text}`;
}

/** The one live region: the newest incoming message only (each replaces the last). */
export function LiveAnnouncer({ session }: { session: Session }) {
  const [line, setLine] = useState('');
  useEffect(
    () =>
      session.subscribe((e) => {
        const said = announcement(e, (id) => {
          try {
            return session.client.group(id).name;
          } catch {
            return undefined;
          }
        });
        if (said !== undefined) setLine(said);
      }),
    [session],
  );
  return (
    <div class="sr-only" aria-live="polite" aria-atomic="true" data-testid="live-announcer">
      {line}
    </div>
  );
}
