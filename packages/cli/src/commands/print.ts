/**
 * How the CLI shows messages and warnings.
 */
import {
  type ClientEvent,
  groupIdOf,
  type KeyChangePolicy,
  type ParleyClient,
  type StoredMessage,
} from '@parley/client';

/**
 * One message as a line: `sender: text` (`[group] sender: text` in a group), or a JSON object
 * with `--json` (`group` set to the group id for group messages).
 */
export function formatMessage(m: StoredMessage, json: boolean, client?: ParleyClient): string {
  const groupId = groupIdOf(m.peer);
  if (json) {
    return JSON.stringify({
      id: m.id,
      from: m.sender,
      device: m.senderDevice,
      peer: m.peer,
      ...(groupId === undefined ? {} : { group: groupId }),
      text: m.text,
      sentAt: m.sentAt,
    });
  }
  if (groupId === undefined) return `${m.sender}: ${m.text}`;
  let name = groupId;
  try {
    name = client?.group(groupId).name ?? groupId;
  } catch {
    // A group this device no longer has: shown by id.
  }
  return m.direction === 'system' ? `[${name}] -- ${m.text} --` : `[${name}] ${m.sender}: ${m.text}`;
}

/** A warning line for events a person must know about, or undefined. */
export function formatWarning(e: ClientEvent, policy?: KeyChangePolicy): string | undefined {
  switch (e.type) {
    case 'identity-changed': {
      // Under hold-all (and for a verified contact) their messages from the new key wait too.
      const incoming =
        policy === 'block-verified' && !e.verified ? '' : ` Messages from the new key are not shown until then.`;
      return `warning: ${e.name}'s safety number changed (their account key was replaced${e.verified ? '; they were verified' : ''}). Messages to ${e.name} are held, not sent, until you compare the new number (\`parley verify ${e.name}\`) or send anyway (\`parley send ${e.name} --accept-change\`).${incoming}`;
    }
    case 'held':
      return `held: a message to ${e.to} was not sent (${e.to}'s safety number changed); \`parley send ${e.to} --accept-change\` sends it, \`--discard-held\` drops it.`;
    case 'undecryptable':
      return `note: a message from ${e.from} could not be decrypted; asked their device to send it again.`;
    case 'unlisted-device':
      return `warning: dropped a message from a device of ${e.from} that is not on ${e.from}'s signed device list.`;
    case 'device-list-stale':
      return `warning: ${e.name}'s messages announce device list version ${e.announced}, but the server serves version ${e.trusted} (it may be hiding a removed device). Nothing is sent to ${e.name} until the newer list arrives.`;
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
    const w = formatWarning(e, client.keyChangePolicy());
    if (w !== undefined) process.stderr.write(`${w}\n`);
  }
}
