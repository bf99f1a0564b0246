/**
 * The passphrase prompt for a protected home: the key is derived (Argon2id, about a second)
 * and the saved image decrypted only in this page.
 */
import { useState } from 'preact/hooks';

export function Unlock({
  error,
  onUnlock,
}: {
  error: string | undefined;
  onUnlock(passphrase: string): Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  return (
    <main class="welcome">
      <h1>Parley is locked</h1>
      <p class="lede">Your keys and messages in this browser are encrypted with your passphrase.</p>
      <form
        aria-label="Unlock"
        onSubmit={async (e) => {
          e.preventDefault();
          const form = e.currentTarget;
          setBusy(true);
          await onUnlock(String(new FormData(form).get('passphrase')));
          setBusy(false);
        }}
      >
        <label>
          Passphrase
          <input name="passphrase" type="password" required autocomplete="current-password" />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Unlocking…' : 'Unlock'}
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </main>
  );
}
