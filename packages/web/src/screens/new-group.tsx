/**
 * New group: a name and the accounts to add (each with all their devices). This account
 * becomes the group's admin.
 */

import { groupPeer } from '@parley/client/web';
import { GROUP_NAME_MAX_LENGTH } from '@parley/protocol';
import { useState } from 'preact/hooks';
import { chatHref, go } from '../route.ts';
import { describeError, type Session } from '../session.ts';

/** Splits "a, b c" into account names. */
export const splitNames = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n !== '');

export function NewGroup({ session }: { session: Session }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const create = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      const { id } = await session.client.createGroup(
        String(form.get('name')).trim(),
        splitNames(String(form.get('members'))),
      );
      go(chatHref(groupPeer(id)));
    } catch (err) {
      // The SDK checks every member before making the group, so a failure leaves nothing behind.
      setError(`${describeError(err)}. No group was created; fix the list and try again.`);
      setBusy(false);
    }
  };
  return (
    <section class="form-screen" aria-labelledby="new-group-title">
      <header class="conversation-head">
        <a href="#/" class="back" aria-label="Back to conversations">
          ←
        </a>
        <h2 id="new-group-title">New group</h2>
      </header>
      <form onSubmit={create}>
        <label>
          Group name
          <input name="name" required maxLength={GROUP_NAME_MAX_LENGTH} />
        </label>
        <label>
          Members <span class="optional">(account names, separated by commas or spaces)</span>
          <input name="members" autocomplete="off" />
        </label>
        <p class="hint">The server never learns the group's name or who is in it beyond delivering to their devices.</p>
        <button type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create group'}
        </button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
