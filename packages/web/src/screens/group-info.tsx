/**
 * Group info: name, members (admins marked), and for admins: rename, add and remove members,
 * make or unmake admins. Anyone can leave. Every change is a signed commit by a member; the
 * server only relays it.
 */

import { groupPeer } from '@parley/client/web';
import { GROUP_NAME_MAX_LENGTH } from '@parley/protocol';
import { useState } from 'preact/hooks';
import { showBidi } from '../format.ts';
import { chatHref, go } from '../route.ts';
import { describeError, type Session } from '../session.ts';
import { useSession } from '../use-session.ts';
import { splitNames } from './new-group.tsx';

export function GroupInfoScreen({ session, id }: { session: Session; id: string }) {
  const { client } = session;
  useSession(session);
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  let g: ReturnType<typeof client.group>;
  try {
    g = client.group(id);
  } catch (err) {
    return (
      <p class="error" role="alert">
        {describeError(err)}
      </p>
    );
  }
  const admin = g.admins.includes(client.name) && g.status === 'active';
  const run = async (op: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await op();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="group-info" aria-labelledby="group-title">
      <header class="conversation-head">
        <a href={chatHref(groupPeer(id))} class="back" aria-label="Back to the group">
          ←
        </a>
        <h2 id="group-title">
          <bdi>{showBidi(g.name)}</bdi>
        </h2>
      </header>
      {admin && (
        <form
          class="inline"
          aria-label="Rename group"
          onSubmit={(e) => {
            e.preventDefault();
            const name = String(new FormData(e.currentTarget).get('name')).trim();
            void run(() => client.updateGroup(id, { name }));
          }}
        >
          <label>
            Name <input name="name" defaultValue={g.name} required maxLength={GROUP_NAME_MAX_LENGTH} />
          </label>
          <button type="submit" disabled={busy}>
            Rename
          </button>
        </form>
      )}
      <h3>Members ({g.members.length})</h3>
      <ul class="members" aria-label="Members">
        {g.members.map((m) => {
          const isAdmin = g.admins.includes(m.name);
          return (
            <li key={m.name} data-member={m.name}>
              <span class="who">
                {m.name}
                {m.name === client.name && ' (you)'}
              </span>
              {isAdmin && <span class="badge admin">admin</span>}
              <span class="devices">
                {m.devices.length} device{m.devices.length === 1 ? '' : 's'}
              </span>
              {admin && m.name !== client.name && (
                <span class="actions">
                  <button
                    type="button"
                    disabled={busy}
                    onClick={() =>
                      run(() =>
                        client.updateGroup(id, {
                          admins: isAdmin ? g.admins.filter((a) => a !== m.name) : [...g.admins, m.name],
                        }),
                      )
                    }
                  >
                    {isAdmin ? 'Remove admin' : 'Make admin'}
                  </button>
                  <button type="button" disabled={busy} onClick={() => run(() => client.removeFromGroup(id, [m.name]))}>
                    Remove {m.name}
                  </button>
                </span>
              )}
            </li>
          );
        })}
      </ul>
      {admin && (
        <form
          class="inline"
          aria-label="Add members"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const names = splitNames(String(new FormData(form).get('names')));
            if (names.length > 0) void run(() => client.addToGroup(id, names)).then(() => form.reset());
          }}
        >
          <label>
            Add members <input name="names" placeholder="account names" autocomplete="off" />
          </label>
          <button type="submit" disabled={busy}>
            Add
          </button>
        </form>
      )}
      {g.status === 'active' && (
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={() => {
            if (confirm(`Leave ${showBidi(g.name)}?`)) void run(() => client.leaveGroup(id)).then(() => go('#/'));
          }}
        >
          Leave group
        </button>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
