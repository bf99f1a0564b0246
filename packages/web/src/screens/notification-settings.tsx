/**
 * Notification settings: turn browser notifications on (asking the browser's permission) or
 * off, and choose whether they show the message text.
 */
import { useState } from 'preact/hooks';
import { loadPrefs, type NotificationPrefs, savePrefs } from '../notifications.ts';

const permissionNow = (): NotificationPermission | 'unsupported' =>
  'Notification' in globalThis ? Notification.permission : 'unsupported';

export function NotificationSettings() {
  const [prefs, setPrefs] = useState<NotificationPrefs>(loadPrefs);
  const [permission, setPermission] = useState(permissionNow);
  const update = (next: NotificationPrefs) => {
    savePrefs(next);
    setPrefs(next);
  };
  return (
    <section class="notification-settings" aria-labelledby="notifications-title">
      <h3 id="notifications-title">Notifications</h3>
      {permission === 'unsupported' ? (
        <p>This browser does not support notifications.</p>
      ) : permission === 'denied' ? (
        <p>Notifications are blocked for this site in the browser's settings.</p>
      ) : permission === 'default' ? (
        <button
          type="button"
          onClick={async () => {
            setPermission(await Notification.requestPermission());
            update({ ...prefs, enabled: true });
          }}
        >
          Turn on notifications
        </button>
      ) : (
        <label class="check">
          <input
            type="checkbox"
            checked={prefs.enabled}
            onChange={(e) => update({ ...prefs, enabled: e.currentTarget.checked })}
          />
          Notify me of new messages while Parley is in the background
        </label>
      )}
      <label class="check">
        <input
          type="checkbox"
          checked={prefs.hideContent}
          onChange={(e) => update({ ...prefs, hideContent: e.currentTarget.checked })}
        />
        Hide content: say "New message" instead of showing the text
      </label>
    </section>
  );
}
