/**
 * What travels inside the Double Ratchet: a small JSON content record, padded so that the
 * ciphertext length reveals only a 160-byte bucket of the text length (as Signal pads:
 * content ‖ 0x80 ‖ zeros to the next multiple of 160).
 *
 * `id` is the sender's message id (unique per sender; receivers deduplicate on it), `ts` the
 * sender's clock, `to` is set on copies sent to the sender's own other devices. Every content
 * sent also carries `dlv`/`dlh`, the sender's signed device-list version and its SHA-256
 * (docs/protocol.md §10, "Never go back"), so a contact learns of a newer list even when the
 * server hides it.
 */
import {
  type AttachmentPointer,
  decodeAttachmentPointer,
  fromBase64Url,
  isProtocolError,
  toBase64Url,
  utf8,
} from '@parley/protocol';
import { isTimerSeconds } from './disappearing/timers.ts';

const BLOCK = 160;
/** Longest text a message may carry, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 16 * 1024;

/** A text message's content. */
export interface TextContent {
  readonly v: 1;
  readonly id: string;
  readonly ts: number;
  readonly text: string;
  readonly to?: string;
  /**
   * Control content: `leave` announces that the sender's account leaves the group; `timer`
   * sets the conversation's disappearing-message timer to `exp` (0: off).
   */
  readonly ctl?: 'leave' | 'timer';
  /**
   * The conversation's disappearing-message timer (seconds, one of `DISAPPEARING_TIMERS`) when
   * this was sent: every device deletes the message that long after it stored it. Absent: off.
   */
  readonly exp?: number;
}

/**
 * A delivery or read receipt (docs/protocol.md §12): which of the recipient's messages (by the
 * sender's message ids) reached a device of theirs, or were shown to them. It travels like a
 * message, encrypted, so the server cannot tell it from one. It has no `text`, so a decoder
 * that predates receipts drops it instead of showing an empty message.
 */
export interface ReceiptContent {
  readonly v: 1;
  readonly id: string;
  readonly ts: number;
  readonly receipt: 'delivered' | 'read';
  readonly ids: readonly string[];
}

/**
 * The sender's device-list stamp (docs/protocol.md §10, "Never go back"): the version of the
 * signed device list its account key last signed, and the SHA-256 of that encoded list
 * (base64url). Optional on the wire: contents from before the stamp have none.
 */
export interface ListStamp {
  readonly dlv?: number;
  readonly dlh?: string;
}

/**
 * A control content (docs/protocol.md §10, "Never go back"): the sender's account signed a new
 * device list (a device was removed) and hands it to its contacts and own devices inside the
 * encrypted channel, so a server that keeps serving the older list cannot hide the removal. It
 * has no `text`, so a decoder that predates it drops it.
 */
export interface DeviceListContent {
  readonly v: 1;
  readonly id: string;
  readonly ts: number;
  /** The encoded signed device list, base64url. */
  readonly deviceList: string;
}

/** Most message ids one receipt names. */
export const MAX_RECEIPT_IDS = 100;

/**
 * An attachment message (docs/protocol.md §16.4): `att` is the encoded attachment pointer
 * (base64url), `caption` the sender's optional text. `text` is a fallback line for decoders that
 * predate attachments: they show it as text ("[attachment … — update Parley to receive it]")
 * instead of dropping the message silently; decoders that know attachments ignore it.
 */
export interface AttachmentContent {
  readonly v: 1;
  readonly id: string;
  readonly ts: number;
  readonly att: string;
  readonly text: string;
  readonly caption?: string;
  readonly to?: string;
  /** As `TextContent.exp`. */
  readonly exp?: number;
}

/** The fallback line an attachment message carries for decoders that predate attachments. */
export function attachmentFallbackText(fileName: string): string {
  return `[attachment "${fileName}": this version of Parley cannot receive attachments; update Parley to receive it]`;
}

/** Encodes and pads content. */
export function encodeContent(
  content: (TextContent | ReceiptContent | DeviceListContent | AttachmentContent) & ListStamp,
): Uint8Array {
  const body = utf8(JSON.stringify(content));
  const padded = new Uint8Array(Math.ceil((body.length + 1) / BLOCK) * BLOCK);
  padded.set(body);
  padded[body.length] = 0x80;
  return padded;
}

/** Removes padding and parses the JSON object; undefined for anything malformed. */
function unpad(padded: Uint8Array): Record<string, unknown> | undefined {
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(padded.subarray(0, end)));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

/**
 * A disappearing-message timer field: absent, or one of the timers (a timer change may also say
 * 0, off). Anything else makes the content malformed: a sender cannot choose a lifetime the UI
 * does not offer.
 */
const validExp = (x: unknown, timerChange: boolean): boolean =>
  x === undefined || isTimerSeconds(x) || (timerChange && x === 0);

const isMessageId = (x: unknown): x is string => typeof x === 'string' && x.length >= 8 && x.length <= 64;

/** A SHA-256 in base64url: 43 characters. */
const isHash = (x: unknown): x is string => typeof x === 'string' && /^[A-Za-z0-9_-]{43}$/.test(x);

/**
 * The device-list stamp of any content (text, receipt, control): undefined when it has none;
 * `'malformed'` when it has one that is not a positive version with a SHA-256.
 */
export function decodeListStamp(padded: Uint8Array): { version: number; hash: string } | 'malformed' | undefined {
  const c = unpad(padded);
  if (c === undefined || (c.dlv === undefined && c.dlh === undefined)) return undefined;
  if (!Number.isSafeInteger(c.dlv) || (c.dlv as number) < 1 || !isHash(c.dlh)) return 'malformed';
  return { version: c.dlv as number, hash: c.dlh };
}

/** Decodes a device-list control content; undefined for anything else or anything malformed. */
export function decodeDeviceListContent(padded: Uint8Array): DeviceListContent | undefined {
  const c = unpad(padded);
  if (
    c === undefined ||
    c.v !== 1 ||
    !isMessageId(c.id) ||
    !Number.isSafeInteger(c.ts) ||
    typeof c.deviceList !== 'string' ||
    c.deviceList.length === 0 ||
    c.text !== undefined ||
    c.receipt !== undefined
  ) {
    return undefined;
  }
  return { v: 1, id: c.id, ts: c.ts as number, deviceList: c.deviceList };
}

/** Decodes a receipt; undefined for anything else or anything malformed. */
export function decodeReceipt(padded: Uint8Array): ReceiptContent | undefined {
  const c = unpad(padded);
  if (
    c === undefined ||
    c.v !== 1 ||
    !isMessageId(c.id) ||
    !Number.isSafeInteger(c.ts) ||
    (c.receipt !== 'delivered' && c.receipt !== 'read') ||
    !Array.isArray(c.ids) ||
    c.ids.length === 0 ||
    c.ids.length > MAX_RECEIPT_IDS ||
    !c.ids.every(isMessageId)
  ) {
    return undefined;
  }
  return { v: 1, id: c.id, ts: c.ts as number, receipt: c.receipt, ids: c.ids as string[] };
}

/** Removes padding and checks the shape; undefined for anything malformed (and for receipts). */
export function decodeContent(padded: Uint8Array): TextContent | undefined {
  const c = unpad(padded);
  if (c === undefined || c.att !== undefined) return undefined;
  if (
    c.v !== 1 ||
    typeof c.id !== 'string' ||
    c.id.length < 8 ||
    c.id.length > 64 ||
    !Number.isSafeInteger(c.ts) ||
    typeof c.text !== 'string' ||
    (c.to !== undefined && typeof c.to !== 'string') ||
    (c.ctl !== undefined && c.ctl !== 'leave' && c.ctl !== 'timer') ||
    !validExp(c.exp, c.ctl === 'timer') ||
    (c.ctl === 'timer' && c.exp === undefined)
  ) {
    return undefined;
  }
  const out: TextContent = { v: 1, id: c.id, ts: c.ts as number, text: c.text };
  if (c.ctl === 'leave') return { ...out, ctl: 'leave' };
  const exp = c.exp === undefined ? {} : { exp: c.exp as number };
  if (c.ctl === 'timer') return { ...out, ...(typeof c.to === 'string' ? { to: c.to } : {}), ctl: 'timer', ...exp };
  return typeof c.to === 'string' ? { ...out, to: c.to, ...exp } : { ...out, ...exp };
}

/** A decoded attachment message: its content record and the decoded pointer. */
export interface DecodedAttachment {
  readonly content: AttachmentContent;
  readonly pointer: AttachmentPointer;
}

/**
 * Decodes an attachment message; undefined for anything else or anything malformed (including a
 * pointer that does not decode: a pointer of a later version is dropped like unknown content).
 */
export function decodeAttachmentContent(padded: Uint8Array): DecodedAttachment | undefined {
  const c = unpad(padded);
  if (
    c === undefined ||
    c.v !== 1 ||
    !isMessageId(c.id) ||
    !Number.isSafeInteger(c.ts) ||
    typeof c.att !== 'string' ||
    typeof c.text !== 'string' ||
    (c.caption !== undefined && typeof c.caption !== 'string') ||
    (c.to !== undefined && typeof c.to !== 'string') ||
    !validExp(c.exp, false)
  ) {
    return undefined;
  }
  let pointer: AttachmentPointer;
  try {
    pointer = decodeAttachmentPointer(fromBase64Url('att', c.att));
  } catch (err) {
    if (isProtocolError(err)) return undefined;
    throw err;
  }
  const content: AttachmentContent = {
    v: 1,
    id: c.id,
    ts: c.ts as number,
    att: c.att,
    text: c.text,
    ...(typeof c.caption === 'string' ? { caption: c.caption } : {}),
    ...(typeof c.to === 'string' ? { to: c.to } : {}),
    ...(c.exp === undefined ? {} : { exp: c.exp as number }),
  };
  return { content, pointer };
}

/** The base64url `att` field of a pointer's encoding. */
export function attachmentField(encodedPointer: Uint8Array): string {
  return toBase64Url(encodedPointer);
}
