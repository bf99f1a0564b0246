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
  let sendLine: (text: string) => Promise<unknown>;
  if ('group' in target) {
    await client.drained(deadline.signal);
    const g = resolveGroup(client, target.group);
    peer = groupPeer(g.id);
    title = `“${safeText(g.name)}”`;
    sendLine = (text) => client.sendToGroup(g.id, text);
  } else {
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
  for (const m of client.history(peer, 20)) {
    if (m.direction === 'system') system(m.text);
    else said(m.direction === 'out' ? 'you' : m.sender, m.text);
  }
  out(`-- chatting with ${title}; type a message and press Enter (Ctrl-D to leave) --`);
  const downloads = downloadsDir(flags);
  const listening = (async () => {
    for await (const e of events) {
      if (e.type === 'message' && e.message.peer === peer && e.message.direction === 'in')
        said(e.message.sender, e.message.text);
      else if (e.type === 'message' && e.message.peer === peer && e.message.direction === 'system')
        system(e.message.text);
      else if (e.type === 'attachment' && e.message.peer === peer && e.message.direction === 'in')
        out(await saveAttachment(e, downloads));
      else if (e.type === 'connection' && e.state === 'disconnected') out('-- connection lost; reconnecting --');
      else if (e.type === 'connection' && e.state === 'connected') out('-- connected --');
      else {
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
    try {
      await sendLine(text);
    } catch (err) {
      out(`error: ${safeText((err as Error).message)}`);
    }
  }
  rl.close();
  await client.idle();
  stop.abort();
  await listening;
  await client.close();
  return EXIT.ok;
}
