/**
 * The app shell: boot (one tab per profile, resume the saved home), the welcome screens until
 * there is an account, then the messenger: conversation list beside (desktop) or before
 * (phone) the open screen, chosen by the URL hash.
 */
import type { ClientEvent } from '@parley/client/web';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { LiveAnnouncer, Shortcuts, SkipLink } from './a11y.tsx';
import { peerTitle } from './format.ts';
import { notifyFor, showUnread } from './notifications.ts';
import { type Route, useRoute } from './route.ts';
import { ConversationList } from './screens/conversation-list.tsx';
import { ConversationView } from './screens/conversation-view.tsx';
import { Devices } from './screens/devices.tsx';
import { GroupInfoScreen } from './screens/group-info.tsx';
import { NewGroup } from './screens/new-group.tsx';
import { Safety } from './screens/safety.tsx';
import { Unlock } from './screens/unlock.tsx';
import { Welcome } from './screens/welcome.tsx';
import { describeError, resume, type Session, savedHome } from './session.ts';
import { useSession } from './use-session.ts';

type Boot =
  | { phase: 'starting' }
  | { phase: 'other-tab' }
  | { phase: 'failed'; message: string }
  | { phase: 'welcome' }
  | { phase: 'locked'; error?: string }
  | { phase: 'ready'; session: Session };

/** Holds the Web Lock for this profile's home for the page's lifetime (two tabs would fork its state). */
function lockHome(): Promise<boolean> {
  if (!('locks' in navigator)) return Promise.resolve(true);
  return new Promise((resolve) => {
    void navigator.locks.request('parley-home', { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      // Held until the page goes away.
      return lock === null ? undefined : new Promise<void>(() => {});
    });
  });
}

export function App() {
  const [boot, setBoot] = useState<Boot>({ phase: 'starting' });
  useEffect(() => {
    void (async () => {
      try {
        if (!(await lockHome())) return setBoot({ phase: 'other-tab' });
        const saved = await savedHome();
        if (saved === 'locked') return setBoot({ phase: 'locked' });
        const session = saved === 'none' ? undefined : await resume();
        setBoot(session === undefined ? { phase: 'welcome' } : { phase: 'ready', session });
      } catch (err) {
        setBoot({ phase: 'failed', message: describeError(err) });
      }
    })();
  }, []);

  switch (boot.phase) {
    case 'starting':
      return <p class="boot">Opening Parley…</p>;
    case 'other-tab':
      return (
        <main class="notice">
          <h1>Parley is open in another tab</h1>
          <p>Use that tab, or close it and reload this one. One tab at a time keeps your keys consistent.</p>
        </main>
      );
    case 'failed':
      return (
        <main class="notice">
          <h1>Parley could not start</h1>
          <p role="alert">{boot.message}</p>
        </main>
      );
    case 'welcome':
      return <Welcome onReady={(session) => setBoot({ phase: 'ready', session })} />;
    case 'locked':
      return (
        <Unlock
          error={boot.error}
          onUnlock={async (passphrase) => {
            try {
              const session = await resume(passphrase);
              setBoot(session === undefined ? { phase: 'welcome' } : { phase: 'ready', session });
            } catch (err) {
              setBoot({ phase: 'locked', error: describeError(err) });
            }
          }}
        />
      );
    case 'ready':
      return <Messenger session={boot.session} />;
  }
}

function Messenger({ session }: { session: Session }) {
  const route = useRoute();
  const onEvent = useCallback(
    (e: ClientEvent | undefined) =>
      notifyFor(
        e,
        (peer) =>
          peerTitle(peer, (id) => {
            try {
              return session.client.group(id).name;
            } catch {
              return undefined;
            }
          }),
        (peer) => session.client.conversations().some((c) => c.peer === peer && c.muted),
      ),
    [session],
  );
  const tick = useSession(session, onEvent);
  useEffect(() => showUnread(session.client.conversations().reduce((n, c) => n + c.unread, 0)), [session, tick]);
  const state = session.connection();
  const main = screenFor(route, session);
  return (
    <div class={`shell ${route.name === 'home' ? 'at-home' : 'at-screen'}`}>
      <SkipLink />
      <Shortcuts />
      <LiveAnnouncer session={session} />
      <header class="topbar">
        <h1 class="brand">
          <a href="#/">Parley</a>
        </h1>
        <span class="me">
          {session.client.name}
          <span class={`conn conn-${state}`} role="status" aria-label={`connection: ${state}`} title={state}>
            {state === 'connected' ? 'online' : state}
          </span>
        </span>
        <nav aria-label="Main">
          <a href="#/devices">Devices</a>
        </nav>
      </header>
      {session.keysInUse().length > 0 && (
        <div class="banner warn" role="alert" data-testid="key-in-use-banner">
          {session
            .keysInUse()
            .map((d) =>
              d === 'this'
                ? "This device's key is in use elsewhere: another program connected with this browser's keys while this tab was connected. If you did not open it elsewhere, remove this device from another one and link a new one."
                : `The key of your device ${d} is in use elsewhere: two programs connected with it in turn. If that was not you, remove device ${d} under Devices.`,
            )
            .join(' ')}
        </div>
      )}
      <div class="offline-slot">
        {state !== 'connected' && state !== 'replaced' && state !== 'removed' && (
          <p class="offline-banner" role="status" data-testid="offline-banner">
            <strong>Offline:</strong> not connected to {location.host}. Messages you send now will be sent when
            reconnected.
          </p>
        )}
      </div>
      <aside class="sidebar" aria-label="Conversations">
        <ConversationList session={session} current={route} />
      </aside>
      <main class="pane">{main}</main>
    </div>
  );
}

function screenFor(route: Route, session: Session) {
  switch (route.name) {
    case 'chat':
      return <ConversationView key={route.peer} session={session} peer={route.peer} />;
    case 'group-info':
      return <GroupInfoScreen key={route.id} session={session} id={route.id} />;
    case 'new-group':
      return <NewGroup session={session} />;
    case 'safety':
      return <Safety key={route.name + route.peer} session={session} peer={route.peer} />;
    case 'devices':
      return <Devices session={session} />;
    default:
      return (
        <div class="empty">
          <p>Choose a conversation, or start one by name.</p>
        </div>
      );
  }
}
