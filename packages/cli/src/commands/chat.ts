/**
 * `parley chat NAME` / `parley chat --group GROUP`: an interactive conversation. Shows recent
 * history, prints incoming messages as they arrive, sends each line typed. Ctrl-D or /quit
 * leaves. --timeout bounds connecting (and, for a group, taking the backlog).
 */

import { createInterface } from 'node:readline';
import { groupPeer } from '@parley/client';
import { EXIT } from '../cli-error.ts';
import type { Deadline } from '../deadline.ts';
import type { Flags } from '../flags.ts';
import { connect, openHome } from '../home.ts';
import { safeLine, safeText, terminalColumns } from '../terminal-text.ts';
import { downloadsDir, saveAttachment } from './attachments.ts';
import { resolveGroup } from './group.ts';
import { formatWarning } from './print.ts';

/** Runs the chat until input ends. */
export async function chat(
  target: { name: string } | { group: string },
  flags: Flags,
  deadline: Deadline,
): Promise<number> {
  const client = await openHome(flags, deadline);
  const stop = new AbortController();
  const events = client.events(stop.signal);
  await connect(client, deadline);
  let peer: string;
  let title: string;
  let sendLine: (text: string) => Promise<{ id: string }>;
  if ('group' in target) {
    await client.drained(deadline.signal);
    const g = resolveGroup(client, target.group);
    peer = groupPeer(g.id);
    title = `“${safeText(g.name)}”`;
    sendLine = (text) => client.sendToGroup(g.id, text);
  } else {
    // An account that does not exist ends the chat here, with the reason (exit 5), not after a line is typed.
    try {
      await client.safety(target.name);
    } catch (err) {
      stop.abort();
      await client.close();
      throw err;
    }
    peer = target.name;
    title = safeText(target.name);
    sendLine = (text) => client.send(target.name, text);
  }
  // Connected: from here on the chat lasts as long as its input; sends queue while offline.
  deadline.clear();
  const out = (line: string) => process.stdout.write(`${line}\n`);
  // Message text and names are someone else's: controls escaped, newlines indented (terminal-text.ts).
  // On a terminal, rows are broken before its width too (a padded message cannot wrap into a fake line).
  const columns = () => terminalColumns(process.stdout);
  const system = (text: string) => out(`${safeLine('-- ', text, (columns() ?? Infinity) - 3)} --`);
  const said = (who: string, text: string) => out(safeLine(`${safeText(who)}: `, text, columns()));
  // Messages that arrived while connecting are in the history and were also announced as events:
  // each is printed once.
  const shown = new Set<string>();
  for (const m of client.history(peer, 20)) {
    shown.add(m.id);
    if (m.direction === 'system') system(m.text);
    else if (m.deleted) system(`${m.direction === 'out' ? 'you' : m.sender} deleted a message`);
    else said(m.direction === 'out' ? 'you' : m.sender, m.text);
  }
  // What is shown is read (read receipts go out when they are on: `parley config read-receipts`).
  client.markRead(peer);
  out(`-- chatting with ${title}; type a message and press Enter (Ctrl-D to leave) --`);
  const downloads = downloadsDir(flags);
  // Our lines not yet sent, by id: the first words of each, to say which one went out or failed.
  const pending = new Map<string, string>();
  // Outcomes that came before `send` returned the id (kept until the id is known).
  const early = new Map<string, string>();
  const excerpt = (text: string) => (text.length > 30 ? `${text.slice(0, 29)}…` : text);
  const settle = (id: string, mark: string) => {
    const text = pending.get(id);
    if (text === undefined) {
      early.set(id, mark);
      return;
    }
    pending.delete(id);
    system(`${mark}: ${text}`);
  };
  // Only a change is reported: a connection that keeps failing says "lost" once, not at every retry.
  let online = true;
  const listening = (async () => {
    for await (const e of events) {
      if (e.type === 'message' && shown.has(e.message.id)) continue;
      if (e.type === 'message' && e.message.peer === peer && e.message.direction === 'in') {
        said(e.message.sender, e.message.text);
        client.markRead(peer);
      } else if (e.type === 'message' && e.message.peer === peer && e.message.direction === 'system')
        system(e.message.text);
      else if (e.type === 'attachment' && e.message.peer === peer && e.message.direction === 'in')
        out(await saveAttachment(e, downloads));
      else if (e.type === 'reaction' && e.peer === peer) {
        const who = e.by === client.name ? 'you' : e.by;
        const counts = e.reactions.map((r) => `${r.emoji} ${r.count}`).join('  ');
        system(
          e.emoji === null
            ? `${who} removed a reaction (${e.messageId})${counts === '' ? '' : `; now ${counts}`}`
            : `${who} reacted ${e.emoji} (${e.messageId}); now ${counts}`,
        );
      } else if (e.type === 'edit' && e.message.peer === peer && e.message.direction !== 'out')
        said(`${e.message.sender} (edited)`, e.message.text);
      else if (e.type === 'delete' && e.message.peer === peer && e.message.direction !== 'out')
        system(`${e.message.sender} deleted a message (${e.message.id})`);
      else if (e.type === 'sent') settle(e.id, 'sent');
      else if (e.type === 'send-failed') settle(e.id, `not sent (${e.reason})`);
      else if (e.type === 'connection' && e.state === 'disconnected') {
        if (online) out('-- connection lost; reconnecting (messages you type wait and go out when it is back) --');
        online = false;
      } else if (e.type === 'connection' && e.state === 'connected') {
        if (!online) out('-- connected --');
        online = true;
      } else {
        if (e.type === 'held') settle(e.id, 'held, not sent (key changed)');
        const w = formatWarning(e, client.keyChangePolicy());
        if (w !== undefined) out(w);
      }
    }
  })();
  const rl = createInterface({ input: process.stdin, terminal: process.stdin.isTTY });
  for await (const line of rl) {
    const text = line.trim();
    if (text === '/quit') break;
    if (text === '') continue;
    // What was typed, as it is sent (on a terminal, in place of the echoed input line).
    if (process.stdin.isTTY && process.stdout.isTTY) process.stdout.write('\x1b[1A\x1b[2K');
    said('you', text);
    try {
      const { id } = await sendLine(text);
      pending.set(id, excerpt(text));
      const mark = early.get(id);
      early.delete(id);
      if (mark !== undefined) settle(id, mark);
      else if (!client.isConnected())
        system(`waiting (not connected; it goes out when the connection is back): ${excerpt(text)}`);
    } catch (err) {
      system(`not sent: ${excerpt(text)}: ${(err as Error).message}`);
    }
  }
  rl.close();
  await client.idle();
  stop.abort();
  await listening;
  await client.close();
  return EXIT.ok;
}
