/**
 * How the CLI shows messages and warnings.
 */
import { type ClientEvent, groupIdOf, type ParleyClient, type StoredMessage } from '@parley/client';
import { safeJson, safeLine, safeText } from '../terminal-text.ts';

/**
 * One message as a line: `sender: text` (`[group] sender: text` in a group), or a JSON object
 * with `--json` (`group` set to the group id for group messages). Text and names are someone
 * else's: controls are shown escaped and a newline continues indented (terminal-text.ts), as
 * do rows that would reach `columns` (the terminal's width, when printing to one).
 */
export function formatMessage(m: StoredMessage, json: boolean, client?: ParleyClient, columns?: number): string {
  const groupId = groupIdOf(m.peer);
  if (json) {
    return safeJson({
      id: m.id,
      from: m.sender,
      device: m.senderDevice,
      peer: m.peer,
      ...(groupId === undefined ? {} : { group: groupId }),
      text: m.text,
      sentAt: m.sentAt,
    });
  }
  if (groupId === undefined) return safeLine(`${safeText(m.sender)}: `, m.text, columns);
  let name = groupId;
  try {
    name = client?.group(groupId).name ?? groupId;
  } catch {
    // A group this device no longer has: shown by id.
  }
  return m.direction === 'system'
    ? `${safeLine(`[${safeText(name)}] -- `, m.text, columns === undefined ? undefined : columns - 3)} --`
    : safeLine(`[${safeText(name)}] ${safeText(m.sender)}: `, m.text, columns);
}

/** A warning line for events a person must know about, or undefined. Quoted text is escaped. */
export function formatWarning(e: ClientEvent): string | undefined {
  const w = warningText(e);
  return w === undefined ? undefined : safeText(w);
}

function warningText(e: ClientEvent): string | undefined {
  switch (e.type) {
    case 'identity-changed':
      return `warning: ${e.name}'s account key changed${e.verified ? ' (they were verified)' : ''}. Messages to and from ${e.name} are held until you run \`parley verify ${e.name}\`, compare, and accept.`;
    case 'undecryptable':
      return `note: a message from ${e.from} could not be decrypted; asked their device to send it again.`;
    case 'unlisted-device':
      return `warning: dropped a message from a device of ${e.from} that is not on ${e.from}'s signed device list.`;
    case 'send-failed':
      return `error: a message to ${e.to} could not be sent: ${e.reason}`;
    case 'group-rejected':
      return `warning: refused a group ${e.group === undefined ? 'welcome' : 'message'} relayed from ${e.from}: ${e.reason}`;
    default:
      return undefined;
  }
}

/** Prints warnings (except `skip` types) to stderr until `signal` aborts. */
export async function printWarnings(
  client: ParleyClient,
  signal: AbortSignal,
  skip: ReadonlySet<ClientEvent['type']> = new Set(),
): Promise<void> {
  for await (const e of client.events(signal)) {
    if (skip.has(e.type)) continue;
    const w = formatWarning(e);
    if (w !== undefined) process.stderr.write(`${w}\n`);
  }
}
