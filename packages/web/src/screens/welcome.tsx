/**
 * First run: create an account on this server, or link this browser as a new device of an
 * existing account (shows the link code as text and QR for the existing device to accept).
 */

import { deleteHome, isClientError, type PendingLink } from '@parley/client/web';
import { ACCOUNT_NAME_CHARACTERS, ACCOUNT_NAME_MAX_LENGTH, ACCOUNT_NAME_MIN_LENGTH } from '@parley/protocol';
import { useState } from 'preact/hooks';
import { Qr } from '../qr.tsx';
import { beginLink, createAccount, describeError, HOME, type Session } from '../session.ts';

const NAME_RULE = `${ACCOUNT_NAME_MIN_LENGTH}-${ACCOUNT_NAME_MAX_LENGTH} characters: a-z, 0-9, _, . and -`;
/** The account-name rule as an HTML `pattern` (implicitly anchored), built from the protocol's. */
const NAME_PATTERN = `[${ACCOUNT_NAME_CHARACTERS}]{${ACCOUNT_NAME_MIN_LENGTH},${ACCOUNT_NAME_MAX_LENGTH}}`;

export function Welcome({ onReady }: { onReady(session: Session): void }) {
  const [mode, setMode] = useState<'create' | 'link'>('create');
  const [error, setError] = useState<string | undefined>();
  const [stale, setStale] = useState(false);
  const [busy, setBusy] = useState(false);
  const [link, setLink] = useState<PendingLink | undefined>();

  const fail = (err: unknown) => {
    setBusy(false);
    setError(describeError(err));
    setStale(isClientError(err, 'ALREADY_REGISTERED'));
  };

  const create = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      const invite = String(form.get('invite') ?? '').trim();
      const passphrase = String(form.get('passphrase') ?? '');
      onReady(
        await createAccount(
          String(form.get('name')).trim(),
          invite === '' ? undefined : invite,
          passphrase === '' ? undefined : passphrase,
        ),
      );
    } catch (err) {
      fail(err);
    }
  };

  const startLinking = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      const passphrase = String(form.get('passphrase') ?? '');
      const started = await beginLink(
        String(form.get('device')).trim() || 'browser',
        passphrase === '' ? undefined : passphrase,
      );
      setLink(started.pending);
      onReady(await started.finish());
    } catch (err) {
      setLink(undefined);
      fail(err);
    }
  };

  return (
    <main class="welcome">
      <h1>Parley</h1>
      <p class="lede">
        End-to-end encrypted messages. Your keys are made and kept in this browser; the server at{' '}
        <strong>{location.host}</strong> relays messages it cannot read.
      </p>
      <div class="tabs" role="tablist" aria-label="Get started">
        <button type="button" role="tab" aria-selected={mode === 'create'} onClick={() => setMode('create')}>
          Create account
        </button>
        <button type="button" role="tab" aria-selected={mode === 'link'} onClick={() => setMode('link')}>
          Link to an existing account
        </button>
      </div>
      {mode === 'create' ? (
        <form key="create" onSubmit={create} aria-label="Create account">
          <label>
            Account name
            <input
              name="name"
              required
              autocomplete="username"
              pattern={NAME_PATTERN}
              title={NAME_RULE}
              aria-describedby="name-rule"
            />
          </label>
          <small id="name-rule">{NAME_RULE}</small>
          <label>
            Invite code <span class="optional">(if this server asks for one)</span>
            <input name="invite" autocomplete="off" />
          </label>
          <PassphraseField />
          <button type="submit" disabled={busy}>
            {busy ? 'Creating keys…' : 'Create account'}
          </button>
        </form>
      ) : link === undefined ? (
        <form key="link" onSubmit={startLinking} aria-label="Link as a new device">
          <label>
            Name for this device
            <input name="device" required defaultValue="browser" />
          </label>
          <PassphraseField />
          <button type="submit" disabled={busy}>
            Show link code
          </button>
        </form>
      ) : (
        <section aria-label="Link code" class="link-code">
          <p>
            On a device already in your account, open <em>Devices → Link a new device</em> (or run{' '}
            <code>parley link accept</code>) and enter this code:
          </p>
          <output class="code" data-testid="link-code">
            {link.code}
          </output>
          <Qr text={link.code} label="Link code as a QR code" />
          <p role="status">Waiting for your other device…</p>
          <button
            type="button"
            onClick={() => {
              link.cancel();
              setLink(undefined);
              setBusy(false);
            }}
          >
            Cancel
          </button>
        </section>
      )}
      {error && (
        <div role="alert" class="error">
          <p>{error}</p>
          {stale && (
            <button
              type="button"
              onClick={async () => {
                await deleteHome(HOME);
                location.reload();
              }}
            >
              Erase this browser's Parley data and start over
            </button>
          )}
        </div>
      )}
    </main>
  );
}

/** The optional passphrase that encrypts this browser's copy of the keys and messages. */
function PassphraseField() {
  return (
    <>
      <label>
        Passphrase <span class="optional">(optional: encrypts your keys and messages in this browser)</span>
        <input name="passphrase" type="password" autocomplete="new-password" aria-describedby="passphrase-note" />
      </label>
      <small id="passphrase-note">
        Asked each time Parley opens. If you forget it, this browser's messages and keys are gone.
      </small>
    </>
  );
}
