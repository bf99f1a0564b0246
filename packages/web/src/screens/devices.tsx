/**
 * This account's devices (from the account-key-signed list this device holds), removal,
 * accepting a new device's link code, and the key-change policy and read-receipts settings of
 * this browser's home.
 */
import type { KeyChangePolicy } from '@parley/client/web';
import { useState } from 'preact/hooks';
import { showBidi } from '../format.ts';
import { QrScanner } from '../qr-scanner.tsx';
import { describeError, type Session } from '../session.ts';
import { useSession } from '../use-session.ts';
import { AccountSettings } from './account-settings.tsx';
import { NotificationSettings } from './notification-settings.tsx';

export function Devices({ session }: { session: Session }) {
  const { client } = session;
  useSession(session);
  const [error, setError] = useState<string | undefined>();
  const [note, setNote] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const devices = client.devices();
  const [policy, setPolicy] = useState<KeyChangePolicy>(client.keyChangePolicy());
  const [receipts, setReceipts] = useState(client.readReceipts());
  const run = async (op: () => Promise<string | undefined>) => {
    setBusy(true);
    setError(undefined);
    setNote(undefined);
    try {
      setNote(await op());
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="devices" aria-labelledby="devices-title">
      <header class="conversation-head">
        <a href="#/" class="back" aria-label="Back to conversations">
          ←
        </a>
        <h2 id="devices-title">Your devices</h2>
      </header>
      <ul aria-label="Devices">
        {devices.map((d) => (
          <li key={d.id} data-device={d.id}>
            <span class="who">
              <bdi>{d.name === undefined ? `device ${d.id}` : showBidi(d.name)}</bdi> <span class="dim">#{d.id}</span>
              {d.current && <span class="badge">this browser</span>}
            </span>
            <span class="dim">
              {d.current
                ? ''
                : d.lastSeen === undefined
                  ? 'not heard from yet'
                  : `last message ${new Date(d.lastSeen).toLocaleString()}`}
            </span>
            {!d.current && (
              <button
                type="button"
                disabled={busy}
                onClick={() => {
                  if (
                    confirm(`Remove ${d.name === undefined ? `device ${d.id}` : showBidi(d.name)} from your account?`)
                  )
                    void run(async () => {
                      await client.removeDevice(d.id);
                      return `Removed device ${d.id}.`;
                    });
                }}
              >
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      <h3>Link a new device</h3>
      <p>
        On the new device, choose <em>Link to an existing account</em> (or run <code>parley link</code>) and enter the
        code it shows.
      </p>
      <form
        class="inline"
        aria-label="Link a new device"
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          const code = String(new FormData(form).get('code')).trim();
          void run(async () => {
            const linked = await client.acceptLink(code);
            form.reset();
            return `Linked ${showBidi(linked.name)} as device ${linked.device}.`;
          });
        }}
      >
        <label>
          Link code <input name="code" required autocomplete="off" />
        </label>
        <button type="submit" disabled={busy}>
          Link device
        </button>
      </form>
      <QrScanner
        label="Scan the new device's code"
        onCode={(code) => {
          // Filled in, not sent: the person sees the code and presses "Link device".
          const input = document.querySelector<HTMLInputElement>(
            'form[aria-label="Link a new device"] input[name="code"]',
          );
          if (input !== null) input.value = code;
        }}
      />
      <h3>When a contact's safety number changes</h3>
      <label>
        Key-change policy{' '}
        <select
          name="key-change-policy"
          value={policy}
          onChange={(e) => {
            const next = e.currentTarget.value as KeyChangePolicy;
            client.setKeyChangePolicy(next);
            setPolicy(client.keyChangePolicy());
            setNote('Saved.');
          }}
        >
          <option value="hold-all">Hold every message until I accept or verify (default)</option>
          <option value="block-verified">Hold only the first message, unless I had verified them</option>
        </select>
      </label>
      <h3>Read receipts</h3>
      <label>
        <input
          type="checkbox"
          name="read-receipts"
          checked={receipts}
          onChange={(e) => {
            client.setReadReceipts(e.currentTarget.checked);
            setReceipts(client.readReceipts());
            setNote('Saved.');
          }}
        />{' '}
        Tell contacts when their messages reached me and when I read them (off: they are not told; theirs are still
        shown to me)
      </label>
      {note && <p role="status">{note}</p>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <NotificationSettings />
      <AccountSettings session={session} />
    </section>
  );
}
