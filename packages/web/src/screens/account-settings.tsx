/**
 * Settings about the account itself: which server this browser's keys talk to and the digest
 * of the web bundle it serves (compare with `parley serve --print-web-digest` on the server),
 * and "Delete my account" (the server removes every device, key, queue and attachment of it;
 * this browser's home is deleted too).
 */
import { deleteHome } from '@parley/client/web';
import { useEffect, useState } from 'preact/hooks';
import { describeError, HOME, type Session } from '../session.ts';

/** Where the server lists the bundle's files (`sha256hex  path` lines): its SHA-256 is the digest. */
const LISTING = '/web-bundle.txt';

/** SHA-256 (hex) of the bundle listing the server serves, or undefined when it cannot be read (offline). */
async function webDigest(): Promise<string | undefined> {
  try {
    const r = await fetch(LISTING, { cache: 'no-store' });
    if (!r.ok) return undefined;
    const hash = await crypto.subtle.digest('SHA-256', await r.arrayBuffer());
    return Array.from(new Uint8Array(hash), (b) => b.toString(16).padStart(2, '0')).join('');
  } catch {
    return undefined;
  }
}

export function AccountSettings({ session }: { session: Session }) {
  const { client } = session;
  const [digest, setDigest] = useState<string | undefined | null>(null);
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    void webDigest().then(setDigest);
  }, []);

  const remove = async (e: Event) => {
    e.preventDefault();
    if (typed !== client.name) return;
    setBusy(true);
    setError(undefined);
    try {
      await client.deleteAccount();
      await client.close();
      await deleteHome(HOME);
      location.hash = '#/';
      location.reload();
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };

  return (
    <section class="account-settings" aria-labelledby="account-title">
      <h3 id="account-title">Account</h3>
      <dl class="server-facts">
        <dt>Server your keys talk to</dt>
        <dd data-testid="server-url">{client.server}</dd>
        <dt>Web bundle digest (SHA-256)</dt>
        <dd data-testid="web-digest" class="digest">
          {digest === null ? 'computing…' : (digest ?? 'unavailable (offline)')}
        </dd>
      </dl>
      <p class="hint">
        Compare the digest with what <code>parley serve --print-web-digest</code> prints on the server: if they differ,
        this page is not the code the operator published.
      </p>
      <form class="delete-account" onSubmit={remove} aria-labelledby="delete-title">
        <h4 id="delete-title">Delete my account</h4>
        <p>
          Deletes <strong>{client.name}</strong> on this server for good: every device, key and waiting message, and
          this browser’s keys and history. Contacts will see the account is gone.
        </p>
        <label for="delete-confirm-name">Type your account name to confirm</label>
        <input
          id="delete-confirm-name"
          value={typed}
          autocomplete="off"
          onInput={(e) => setTyped(e.currentTarget.value)}
        />
        <button type="submit" class="danger" disabled={busy || typed !== client.name}>
          Delete my account
        </button>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
