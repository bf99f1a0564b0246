/**
 * Text from other people (and from the server) made safe to print on a terminal. Message text,
 * account, group and device names, reasons and error texts can hold escape sequences that
 * retitle the terminal, recolour or clear it, move the cursor, or (in some terminals) write to
 * the clipboard; a newline or carriage return forges a line that looks like another sender's;
 * bidi controls reorder what is shown. Every CLI printer passes untrusted text through this
 * module: such characters are shown escaped (`\x1b`, `\u202e`), and a newline in a message
 * starts a new line indented under the sender's text, so that no line of it can begin like a
 * real message line (those never start with a space).
 *
 * A backslash is printed as it is: a message containing the four characters `\x1b` looks like
 * an escaped ESC, which is harmless (nothing is executed) and keeps ordinary text readable.
 */

/**
 * Characters shown escaped: C0 controls (newline included), DEL, C1 controls, the Arabic letter
 * mark, LRM/RLM, the bidi embeddings and overrides (U+202A–U+202E) and isolates (U+2066–U+2069),
 * and the Unicode line and paragraph separators.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `\xNN` for a character below U+0100, else `\uNNNN`. */
function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` on one line: every control, bidi and line-breaking character shown escaped. */
export function safeText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/**
 * `text` printed after `prefix` (already safe, e.g. `"bob: "`): controls shown escaped, and each
 * newline in `text` continues on a new line indented by the prefix's width (at least 2).
 */
export function safeLine(prefix: string, text: string): string {
  const indent = `\n${' '.repeat(Math.max(2, [...prefix].length))}`;
  return prefix + text.split('\n').map(safeText).join(indent);
}

/** Characters JSON.stringify leaves raw that a terminal may still act on. */
const JSON_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * `JSON.stringify(value)` with DEL, C1 and bidi characters written as `\uNNNN` escapes (C0
 * controls it escapes already): the same JSON to a parser, nothing a terminal acts on.
 */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
