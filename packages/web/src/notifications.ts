/**
 * Notifications for a tab in the background: a browser notification per new incoming message
 * (only with the person's permission; never for a muted conversation; without the message text
 * when they chose "hide content"), and the unread count in the tab's title and favicon.
 * Preferences live in this browser's localStorage, beside the home they belong to.
 */
import type { ClientEvent } from '@parley/client/web';
import { chatHref, go } from './route.ts';

const PREFS_KEY = 'parley-notifications';
/** Conversations the person muted (peers), written by the conversation settings. */
const MUTED_KEY = 'parley-muted';

/** What notifications show. */
export interface NotificationPrefs {
  /** The person turned notifications on (the browser's permission is asked for separately). */
  readonly enabled: boolean;
  /** Show "New message" instead of the sender's text. */
  readonly hideContent: boolean;
}

/** The saved preferences (on, showing content, until the person changes them). */
export function loadPrefs(): NotificationPrefs {
  try {
    const raw = JSON.parse(localStorage.getItem(PREFS_KEY) ?? '{}') as Partial<NotificationPrefs>;
    return { enabled: raw.enabled !== false, hideContent: raw.hideContent === true };
  } catch {
    return { enabled: true, hideContent: false };
  }
}

/** Saves the preferences. */
export function savePrefs(prefs: NotificationPrefs): void {
  localStorage.setItem(PREFS_KEY, JSON.stringify(prefs));
}

/** Whether the conversation `peer` is muted. */
export function isMuted(peer: string): boolean {
  try {
    const muted = JSON.parse(localStorage.getItem(MUTED_KEY) ?? '[]') as unknown;
    return Array.isArray(muted) && muted.includes(peer);
  } catch {
    return false;
  }
}

/** Whether the page is out of the person's sight (another tab, minimised, another window focused). */
const inBackground = (): boolean => document.visibilityState !== 'visible' || !document.hasFocus();

/**
 * Shows a notification for `e` if it is a new incoming message that the person would want to
 * hear about now. `title(peer)` names the conversation; `muted(peer)` says whether the person
 * muted it in the home's conversation settings (the older per-browser list is honoured too).
 */
export function notifyFor(
  e: ClientEvent | undefined,
  title: (peer: string) => string,
  muted: (peer: string) => boolean = () => false,
): void {
  if (e?.type !== 'message' || e.message.direction !== 'in') return;
  if (!('Notification' in globalThis) || Notification.permission !== 'granted') return;
  if (!inBackground()) return;
  const { peer, sender, text } = e.message;
  const prefs = loadPrefs();
  if (!prefs.enabled || isMuted(peer) || muted(peer)) return;
  const heading = title(peer);
  const n = new Notification(heading === sender ? sender : `${sender} in ${heading}`, {
    body: prefs.hideContent ? 'New message' : text,
    tag: peer,
  });
  n.onclick = () => {
    window.focus();
    go(chatHref(peer));
    n.close();
  };
}

/** Puts the unread count in the tab's title ("(3) Parley") and switches to the favicon with a dot. */
export function showUnread(count: number): void {
  const title = count > 0 ? `(${count}) Parley` : 'Parley';
  if (document.title !== title) document.title = title;
  const icon = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  // The CSP allows images from this origin only, so the badge is a second static icon.
  const href = count > 0 ? '/favicon-unread.svg' : '/favicon.svg';
  if (icon !== null && icon.getAttribute('href') !== href) icon.setAttribute('href', href);
}
