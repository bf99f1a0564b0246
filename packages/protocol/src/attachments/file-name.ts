/**
 * File names from a sender are data, never paths: `sanitizeFileName` keeps the last path
 * segment (either separator), drops control and bidirectional-override characters, replaces the
 * characters Windows reserves, strips leading dots and surrounding spaces, and bounds the
 * length, so `../../x`, `C:\x` or a NUL byte cannot name a file outside the downloads folder,
 * a hidden file, or a name that reads differently from what it is.
 */

/** Longest sanitised name, in UTF-8 bytes (common file-system limit). */
export const FILE_NAME_MAX_BYTES = 255;
/** The name used when nothing is left of the sender's. */
export const FALLBACK_FILE_NAME = 'attachment';

// C0, DEL, C1, and the Unicode bidi controls and isolates (U+200E/F, U+202A–E, U+2066–9).
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;
const RESERVED = /[<>:"|?*]/g;

/** A name safe to create inside a folder: one segment, no controls, no leading dot. */
export function sanitizeFileName(name: string): string {
  const segments = name.normalize('NFC').split(/[/\\]/);
  let out = (segments[segments.length - 1] ?? '').replace(UNSAFE, '').replace(RESERVED, '_').trim();
  out = out.replace(/^[.\s]+/u, '').replace(/[.\s]+$/u, '');
  const encoder = new TextEncoder();
  while (encoder.encode(out).length > FILE_NAME_MAX_BYTES) out = Array.from(out).slice(0, -1).join('');
  return out.length === 0 ? FALLBACK_FILE_NAME : out;
}
