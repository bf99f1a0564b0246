/**
 * How the CLI shows messages and warnings.
 */
import { type ClientEvent, groupIdOf, type ParleyClient, type StoredMessage } from '@parley/client';

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
export function formatWarning(e: ClientEvent): string | undefined {
  switch (e.type) {
    case 'identity-changed':
      return `warning: ${e.name}'s account key changed${e.verified ? ' (they were verified)' : ''}. Messages to and from ${e.name} are held until you run \`parley verify ${e.name}\`, compare, and accept.`;
    case 'undecryptable':
      return `note: a message from ${e.from} could not be decrypted; asked their device to send it again.`;
    case 'key-in-use':
      return e.thisDevice
        ? "warning: this device's key is in use elsewhere: another program connected with this home's keys while this one was connected (a copy of this home?). If you did not open it elsewhere, remove this device from another one (`parley devices remove`) and link a new one."
        : `warning: the key of your device ${e.device} is in use elsewhere: two programs connected with it in turn (a copy of its home?). If that was not you, run \`parley devices remove ${e.device}\`.`;
    case 'session-restarted':
      return e.by === 'them'
        ? `note: session with ${e.peer}'s device ${e.device} restarted at ${e.requestedBy}'s request (a message could not be decrypted there); the message was sent again once.`
        : `note: session with ${e.peer}'s device ${e.device} restarted at your request.`;
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
