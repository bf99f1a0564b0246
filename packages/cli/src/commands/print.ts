/**
 * How the CLI shows messages and warnings.
 */
import {
  type ClientEvent,
  groupIdOf,
  type KeyChangePolicy,
  type ParleyClient,
  type StoredMessage,
  type WarningCode,
} from '@parley/client';
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
export function formatWarning(e: ClientEvent, policy?: KeyChangePolicy): string | undefined {
  const w = warningText(e, policy);
  return w === undefined ? undefined : safeText(w);
}

function warningText(e: ClientEvent, policy?: KeyChangePolicy): string | undefined {
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
    case 'device-list-stale':
      return `warning: ${e.name}'s messages announce device list version ${e.announced}, but the server serves version ${e.trusted} (it may be hiding a removed device). Nothing is sent to ${e.name} until the newer list arrives.`;
    case 'send-failed':
      return `error: a message to ${e.to} could not be sent: ${e.reason}`;
    case 'group-rejected':
      return `warning: refused a group ${e.group === undefined ? 'welcome' : 'message'} relayed from ${e.from}: ${e.reason}`;
    case 'content-rejected':
      return `warning: refused ${e.content === 'content' ? 'a message' : `a ${e.content}`} from ${e.from}${e.peer === undefined ? '' : ` in ${e.peer}`}: ${e.reason}${e.field === undefined ? '' : ` (${e.field})`}; nothing was changed.`;
    case 'stock-drained':
      return `warning: this device's ${e.stock === 'prekeys' ? 'one-time prekeys' : 'group KeyPackages'} are being fetched faster than the server allows (someone may be draining them); refilling them.`;
    case 'warning':
      // `cause` may be a code the server sent: only code characters are shown.
      return `warning: ${BACKGROUND[e.code]} (${e.cause.replace(/[^A-Za-z0-9_.-]/g, '?').slice(0, 64)})`;
    default:
      return undefined;
  }
}

/** What each background failure means for the person, one clause each. */
const BACKGROUND: Readonly<Record<WarningCode, string>> = {
  PREKEY_REFILL_FAILED: 'could not top up one-time prekeys on the server; tried again on the next connection',
  KEY_PACKAGE_REFILL_FAILED: 'could not top up group KeyPackages on the server; tried again on the next connection',
  DELIVERY_NOT_PROCESSED: 'a delivery could not be processed; the server delivers it again',
  HELD_RELEASE_FAILED: 'a held message could not be released; it stays held and is tried again on the next accept',
  OUTBOX_FAILED: 'sending queued messages failed; they stay queued for the next try',
  GROUP_RESUME_FAILED: 'resuming group work after connecting failed',
  GROUP_DEVICE_SYNC_FAILED:
    "adding or removing this account's devices in its groups failed; tried again on the next connection",
  GROUP_REMOVAL_FAILED: 'removing a member who left a group failed; another member may do it',
  SAVE_FAILED: 'saving this home before closing failed; the last changes may be lost',
  DIRECTORY_CHECK_FAILED:
    "checking this account in the server's key directory failed; tried again on the next connect or hour",
  EXPIRY_FAILED: 'deleting expired disappearing messages failed; tried again shortly',
};

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
