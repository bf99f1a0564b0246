/**
 * What travels inside the Double Ratchet and MLS: a small JSON content record, padded so that
 * the ciphertext length reveals only a 160-byte bucket of its length (as Signal pads: content ‖
 * 0x80 ‖ zeros to the next multiple of 160). Every content type is padded the same way, so the
 * server cannot tell a reaction from a message (docs/protocol.md §12).
 *
 * Every record has the same head: `v` (1), `id` (the sender's message id, unique per sender;
 * receivers deduplicate on it), `ts` (the sender's clock), and `to` on copies sent to the
 * sender's own other devices. Every content sent also carries `dlv`/`dlh`, the sender's signed
 * device-list version and its SHA-256 (docs/protocol.md §10, "Never go back").
 *
 * One strict decoder, `readContent`, reads every type from one declarative schema per type
 * (`content/field-schema.ts`) and says why it refused anything (`ContentRejection`). A record of
 * a later version, or whose `t` names a type this version does not know, is kept as
 * `unsupported` (shown as "This message needs a newer version of Parley"), unless it is marked
 * ephemeral (`eph: true`), which a decoder that does not know it drops.
 */
import {
  type AttachmentPointer,
  decodeAttachmentPointer,
  fromBase64Url,
  isProtocolError,
  toBase64Url,
  utf8,
} from '@parley/protocol';
import { isOneEmoji, MAX_EMOJI_BYTES } from './content/emoji.ts';
import {
  type Condition,
  checkSchema,
  type FieldRule,
  pick,
  type Schema,
  withConditions,
} from './content/field-schema.ts';
import { DISAPPEARING_TIMERS } from './disappearing/timers.ts';

const BLOCK = 160;
/** Longest text a message may carry, in UTF-8 bytes. */
export const MAX_TEXT_BYTES = 16 * 1024;
/** Longest padded content record a decoder reads (text escaped in JSON is at most 6× longer). */
export const MAX_CONTENT_BYTES = 128 * 1024;
/** Most code points of a reply's quoted snippet. */
export const MAX_SNIPPET_CHARS = 100;
/** Most message ids one receipt names. */
export const MAX_RECEIPT_IDS = 100;

/** What a reply quotes: the message's id, its sender, and a snippet so it reads if the original is gone. */
export interface ReplyQuote {
  readonly id: string;
  readonly from: string;
  /** The start of the quoted text, at most `MAX_SNIPPET_CHARS` code points. */
  readonly snip: string;
}

/** A text message's content; with `re`, a reply. */
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
  /** Set on a reply: the message it quotes. Decoders that predate replies show the text alone. */
  readonly re?: ReplyQuote;
}

/**
 * A delivery or read receipt (docs/protocol.md §12): which of the recipient's messages (by the
 * sender's message ids) reached a device of theirs, or were shown to them. It has no `text`, so
 * a decoder that predates receipts drops it instead of showing an empty message.
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
  /** The sender's newest key-directory head (base64url signed head), gossip (docs/protocol.md §20). */
  readonly kth?: string;
}

/**
 * A control content (docs/protocol.md §10, "Never go back"): the sender's account signed a new
 * device list (a device was removed) and hands it to its contacts and own devices inside the
 * encrypted channel. It has no `text`, so a decoder that predates it drops it.
 */
export interface DeviceListContent {
  readonly v: 1;
  readonly id: string;
  readonly ts: number;
  /** The encoded signed device list, base64url. */
  readonly deviceList: string;
}

/**
 * An attachment message (docs/protocol.md §16.4): `att` is the encoded attachment pointer
 * (base64url), `caption` the sender's optional text. `text` is a fallback line for decoders that
 * predate attachments; decoders that know attachments ignore it.
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

/**
 * A reaction (docs/protocol.md §12.1): the sender's one emoji on message `mid` of account
 * `mfrom`, replacing the sender's earlier one; `emoji: null` removes it.
 */
export interface ReactionContent {
  readonly v: 1;
  readonly id: string;
  readonly ts: number;
  readonly t: 'reaction';
  readonly mid: string;
  readonly mfrom: string;
  readonly emoji: string | null;
  readonly to?: string;
}

/**
 * An edit (docs/protocol.md §12.1): new text for the sender's own message `mid`. It carries
 * `text`, so a decoder that predates edits shows the new text as a message.
 */
export interface EditContent {
  readonly v: 1;
  readonly id: string;
  readonly ts: number;
  readonly t: 'edit';
  readonly mid: string;
  readonly text: string;
  readonly to?: string;
}

/** Delete for everyone (docs/protocol.md §12.1): the sender withdraws its own message `mid`. */
export interface DeleteContent {
  readonly v: 1;
  readonly id: string;
  readonly ts: number;
  readonly t: 'delete';
  readonly mid: string;
  readonly to?: string;
}

/** A content this version cannot read (a later `v`, or a `t` it does not know): kept, shown as needing a newer version. */
export interface UnsupportedContent {
  readonly id: string;
  readonly ts: number;
  /** The record's `v`. */
  readonly version: number;
  /** The record's `t`, if it had one. */
  readonly type: string | undefined;
  readonly to?: string;
}

/** Any content this version sends. */
export type OutgoingContent = (
  | TextContent
  | ReceiptContent
  | DeviceListContent
  | AttachmentContent
  | ReactionContent
  | EditContent
  | DeleteContent
) &
  ListStamp;

/** A decoded content, by kind. */
export type DecodedContent =
  | { readonly kind: 'text'; readonly content: TextContent }
  | { readonly kind: 'receipt'; readonly content: ReceiptContent }
  | { readonly kind: 'device-list'; readonly content: DeviceListContent }
  | { readonly kind: 'attachment'; readonly content: AttachmentContent; readonly pointer: AttachmentPointer }
  | { readonly kind: 'reaction'; readonly content: ReactionContent }
  | { readonly kind: 'edit'; readonly content: EditContent }
  | { readonly kind: 'delete'; readonly content: DeleteContent }
  | { readonly kind: 'unsupported'; readonly content: UnsupportedContent };

/** Why a content record was refused (one reason per check; the record is dropped, the session goes on). */
export type ContentRejection =
  /** Longer than `MAX_CONTENT_BYTES`. */
  | 'TOO_LARGE'
  /** No 0x80 marker before the zero padding. */
  | 'BAD_PADDING'
  /** Not UTF-8, not JSON, or not a JSON object. */
  | 'NOT_JSON_OBJECT'
  /** `v` is not a positive integer. */
  | 'BAD_VERSION'
  /** A field the type requires is absent (`field` names it). */
  | 'MISSING_FIELD'
  /** A field has the wrong type or is out of bounds (`field` names it). */
  | 'BAD_FIELD'
  /** Fields of two types at once (say a receipt with a text). */
  | 'AMBIGUOUS_TYPE'
  /** No `t` and none of the fields that make a type. */
  | 'UNKNOWN_SHAPE'
  /** A reaction that is not exactly one emoji grapheme. */
  | 'NOT_ONE_EMOJI'
  /** An attachment whose pointer does not decode (a later pointer version, or junk). */
  | 'BAD_ATTACHMENT_POINTER'
  /** An ephemeral content (`eph: true`) of a type this version does not know: dropped, as its sender asks. */
  | 'UNKNOWN_EPHEMERAL';

/** A refusal: its reason and, for a field check, the field's path. Never the content's values. */
export interface ContentError {
  readonly reason: ContentRejection;
  readonly field?: string;
}

/** What `readContent` returns. */
export type ContentResult =
  | { readonly ok: true; readonly value: DecodedContent }
  | { readonly ok: false; readonly error: ContentError };

/** The fallback line an attachment message carries for decoders that predate attachments. */
export function attachmentFallbackText(fileName: string): string {
  return `[attachment "${fileName}": this version of Parley cannot receive attachments; update Parley to receive it]`;
}

/** The line shown for content this version cannot read. */
export const UNSUPPORTED_TEXT = 'This message needs a newer version of Parley';

/** Encodes and pads content. */
export function encodeContent(content: OutgoingContent): Uint8Array {
  const body = utf8(JSON.stringify(content));
  const padded = new Uint8Array(Math.ceil((body.length + 1) / BLOCK) * BLOCK);
  padded.set(body);
  padded[body.length] = 0x80;
  return padded;
}

/** Removes padding and parses the JSON object. */
function unpad(padded: Uint8Array): { record: Record<string, unknown> } | { error: ContentError } {
  if (padded.length > MAX_CONTENT_BYTES) return { error: { reason: 'TOO_LARGE' } };
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end--;
  if (end < 0 || padded[end] !== 0x80) return { error: { reason: 'BAD_PADDING' } };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(padded.subarray(0, end)));
  } catch {
    return { error: { reason: 'NOT_JSON_OBJECT' } };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { error: { reason: 'NOT_JSON_OBJECT' } };
  return { record: value as Record<string, unknown> };
}

const MESSAGE_ID = { type: 'string', min: 8, max: 64 } as const;
const ACCOUNT = { type: 'string', min: 1, max: 64 } as const;
const TEXT = { type: 'string', maxBytes: MAX_TEXT_BYTES } as const;

/** The disappearing-message timers, in seconds: the only values `exp` may have. */
const TIMER_SECONDS: readonly number[] = DISAPPEARING_TIMERS.map((t) => t.seconds);

/**
 * A disappearing-message timer field: absent, or one of the timers. Anything else makes the
 * content malformed: a sender cannot choose a lifetime the UI does not offer.
 */
const EXP = { type: 'int', allowed: TIMER_SECONDS, optional: true } as const satisfies FieldRule;

/** The head every record shares (the one check of `v`, `id`, `ts` and `to`). */
const HEAD = {
  id: MESSAGE_ID,
  ts: { type: 'int' },
  to: { ...ACCOUNT, optional: true },
} as const satisfies Schema;

/** Each type's fields, head included (`v` is checked before). */
const SCHEMAS = {
  text: {
    ...HEAD,
    text: TEXT,
    ctl: { type: 'enum', values: ['leave', 'timer'], optional: true },
    exp: EXP,
    re: {
      type: 'object',
      optional: true,
      fields: { id: MESSAGE_ID, from: ACCOUNT, snip: { type: 'string', maxChars: MAX_SNIPPET_CHARS } },
    },
  },
  receipt: {
    ...HEAD,
    receipt: { type: 'enum', values: ['delivered', 'read'] },
    ids: { type: 'list', of: MESSAGE_ID, min: 1, max: MAX_RECEIPT_IDS },
  },
  'device-list': { ...HEAD, deviceList: { type: 'string', min: 1, max: MAX_CONTENT_BYTES } },
  attachment: {
    ...HEAD,
    // The pointer carries an inline thumbnail of up to 64 KiB; its own decoder bounds every field.
    att: { type: 'string', min: 1, max: MAX_CONTENT_BYTES },
    text: TEXT,
    caption: { ...TEXT, optional: true },
    exp: EXP,
  },
  reaction: {
    ...HEAD,
    t: { type: 'enum', values: ['reaction'] },
    mid: MESSAGE_ID,
    mfrom: ACCOUNT,
    emoji: { type: 'string', min: 1, maxBytes: MAX_EMOJI_BYTES, nullable: true },
  },
  edit: { ...HEAD, t: { type: 'enum', values: ['edit'] }, mid: MESSAGE_ID, text: { ...TEXT, min: 1 } },
  delete: { ...HEAD, t: { type: 'enum', values: ['delete'] }, mid: MESSAGE_ID },
} as const satisfies Record<string, Schema>;

/**
 * Cross-field rules, by type: a timer change (`ctl: 'timer'`) must say its timer (`exp` absent
 * is `MISSING_FIELD`), and may say 0 (off), which no other content may (`BAD_FIELD`).
 */
const CONDITIONS: Partial<Record<keyof typeof SCHEMAS, readonly Condition[]>> = {
  text: [{ when: 'ctl', is: 'timer', field: 'exp', rule: { type: 'int', allowed: [0, ...TIMER_SECONDS] } }],
};

/** The content types that say their type with `t`. */
const TYPED = new Set(['reaction', 'edit', 'delete']);
/** Fields that make a type in records from before `t` (no `t`): at most one may be present. */
const LEGACY_MARKERS = [
  ['receipt', 'receipt'],
  ['deviceList', 'device-list'],
  ['att', 'attachment'],
] as const;

type Kind = keyof typeof SCHEMAS;

/** The record's kind from `t`, or from its legacy marker fields. */
function kindOf(c: Record<string, unknown>): Kind | 'unknown' | ContentError {
  if (c.t !== undefined) {
    if (typeof c.t !== 'string' || c.t.length === 0 || c.t.length > 32) return { reason: 'BAD_FIELD', field: 't' };
    return TYPED.has(c.t) ? (c.t as Kind) : 'unknown';
  }
  const markers = LEGACY_MARKERS.filter(([field]) => c[field] !== undefined);
  if (markers.length > 1) return { reason: 'AMBIGUOUS_TYPE' };
  const marker = markers[0];
  if (marker !== undefined) {
    // An attachment carries a fallback `text`; a receipt or a device list never does.
    if (marker[1] !== 'attachment' && c.text !== undefined) return { reason: 'AMBIGUOUS_TYPE' };
    return marker[1];
  }
  return c.text !== undefined ? 'text' : { reason: 'UNKNOWN_SHAPE' };
}

/**
 * Decodes any content record: the one decoder for every type. Never throws for any input:
 * anything it refuses comes back as a typed `ContentError`.
 */
export function readContent(padded: Uint8Array): ContentResult {
  const unpadded = unpad(padded);
  if ('error' in unpadded) return { ok: false, error: unpadded.error };
  const { record } = unpadded;
  const fail = (error: ContentError): ContentResult => ({ ok: false, error });
  if (!Number.isSafeInteger(record.v) || (record.v as number) < 1) return fail({ reason: 'BAD_VERSION' });
  const kind = record.v === 1 ? kindOf(record) : 'unknown';
  if (typeof kind === 'object') return fail(kind);
  if (kind === 'unknown') {
    // Kept (so it is not lost) when its head reads; dropped when its sender marked it ephemeral.
    const head = checkSchema(record, HEAD);
    if (head !== undefined) return fail(head);
    if (record.eph === true) return fail({ reason: 'UNKNOWN_EPHEMERAL' });
    const t = record.t;
    const content: UnsupportedContent = {
      id: record.id as string,
      ts: record.ts as number,
      version: record.v as number,
      type: typeof t === 'string' && t.length <= 32 ? t : undefined,
      ...(typeof record.to === 'string' ? { to: record.to } : {}),
    };
    return { ok: true, value: { kind: 'unsupported', content } };
  }
  const schema: Schema = withConditions(record, SCHEMAS[kind], CONDITIONS[kind]);
  const failure = checkSchema(record, schema);
  if (failure !== undefined) return fail(failure);
  const fields = { v: 1, ...pick<Record<string, unknown>>(record, schema) };
  switch (kind) {
    case 'text':
      return { ok: true, value: { kind, content: fields as unknown as TextContent } };
    case 'receipt':
      return { ok: true, value: { kind, content: fields as unknown as ReceiptContent } };
    case 'device-list':
      return { ok: true, value: { kind, content: fields as unknown as DeviceListContent } };
    case 'attachment': {
      let pointer: AttachmentPointer;
      try {
        pointer = decodeAttachmentPointer(fromBase64Url('att', record.att as string));
      } catch (err) {
        if (isProtocolError(err)) return fail({ reason: 'BAD_ATTACHMENT_POINTER', field: 'att' });
        throw err;
      }
      return { ok: true, value: { kind, content: fields as unknown as AttachmentContent, pointer } };
    }
    case 'reaction': {
      const emoji = record.emoji as string | null;
      if (emoji !== null && !isOneEmoji(emoji)) return fail({ reason: 'NOT_ONE_EMOJI', field: 'emoji' });
      return { ok: true, value: { kind, content: { ...fields, emoji } as unknown as ReactionContent } };
    }
    case 'edit':
      return { ok: true, value: { kind, content: fields as unknown as EditContent } };
    case 'delete':
      return { ok: true, value: { kind, content: fields as unknown as DeleteContent } };
  }
}

/** A SHA-256 in base64url: 43 characters. */
const isHash = (x: unknown): x is string => typeof x === 'string' && /^[A-Za-z0-9_-]{43}$/.test(x);

/**
 * The device-list stamp of any content (text, receipt, control): undefined when it has none;
 * `'malformed'` when it has one that is not a positive version with a SHA-256.
 */
export function decodeListStamp(padded: Uint8Array): { version: number; hash: string } | 'malformed' | undefined {
  const unpadded = unpad(padded);
  if ('error' in unpadded) return undefined;
  const c = unpadded.record;
  if (c.dlv === undefined && c.dlh === undefined) return undefined;
  if (!Number.isSafeInteger(c.dlv) || (c.dlv as number) < 1 || !isHash(c.dlh)) return 'malformed';
  return { version: c.dlv as number, hash: c.dlh };
}

/** The directory head gossiped in any content (`kth`), if it has a well-formed one (a signed head is 185 bytes). */
export function decodeHeadGossip(padded: Uint8Array): string | undefined {
  const r = unpad(padded);
  const kth = 'record' in r ? r.record.kth : undefined;
  return typeof kth === 'string' && /^[A-Za-z0-9_-]{247}$/.test(kth) ? kth : undefined;
}

/** The content of `padded` if it decodes as `kind`; undefined for anything else. */
function readAs<K extends DecodedContent['kind']>(
  padded: Uint8Array,
  kind: K,
): Extract<DecodedContent, { kind: K }> | undefined {
  const r = readContent(padded);
  return r.ok && r.value.kind === kind ? (r.value as Extract<DecodedContent, { kind: K }>) : undefined;
}

/** A device-list control content; undefined for anything else (`readContent` says why). */
export function decodeDeviceListContent(padded: Uint8Array): DeviceListContent | undefined {
  return readAs(padded, 'device-list')?.content;
}

/** A receipt; undefined for anything else (`readContent` says why). */
export function decodeReceipt(padded: Uint8Array): ReceiptContent | undefined {
  return readAs(padded, 'receipt')?.content;
}

/** A text message (or reply); undefined for anything else (`readContent` says why). */
export function decodeContent(padded: Uint8Array): TextContent | undefined {
  return readAs(padded, 'text')?.content;
}

/** A decoded attachment message: its content record and the decoded pointer. */
export interface DecodedAttachment {
  readonly content: AttachmentContent;
  readonly pointer: AttachmentPointer;
}

/** An attachment message; undefined for anything else, including a pointer that does not decode. */
export function decodeAttachmentContent(padded: Uint8Array): DecodedAttachment | undefined {
  const a = readAs(padded, 'attachment');
  return a === undefined ? undefined : { content: a.content, pointer: a.pointer };
}

/** The base64url `att` field of a pointer's encoding. */
export function attachmentField(encodedPointer: Uint8Array): string {
  return toBase64Url(encodedPointer);
}
