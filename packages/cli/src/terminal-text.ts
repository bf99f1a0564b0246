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
 * How many terminal columns `c` may take, never less than it does: 2 from U+1100 on (where the
 * East Asian wide characters and emoji start; narrower ones there are counted 2 too), else 1.
 */
const columnsOf = (c: string): number => ((c.codePointAt(0) ?? 0) >= 0x1100 ? 2 : 1);

/** The columns `text` may take, never fewer than it does. */
const widthOf = (text: string): number => [...text].reduce((n, c) => n + columnsOf(c), 0);

/**
 * `text` printed after `prefix` (already safe, e.g. `"bob: "`): controls shown escaped, and each
 * newline in `text` continues on a new line indented by the prefix's width (at least 2).
 *
 * With `columns` (the terminal's width, when printing to one), rows are also broken before they
 * reach it, onto indented lines: otherwise a message (or a group name in the prefix) padded to
 * the width would wrap, and the terminal would start a row with whatever follows the padding.
 */
export function safeLine(prefix: string, text: string, columns?: number): string {
  const width = Math.max(2, widthOf(prefix));
  const lines = text.split('\n').map(safeText);
  if (columns === undefined || columns < 16) return prefix + lines.join(`\n${' '.repeat(width)}`);
  // A prefix too wide to indent under (a long group name): continuation rows indent by 2.
  const pad = ' '.repeat(columns - width >= 12 ? width : 2);
  const rows: string[] = [];
  lines.forEach((line, i) => {
    let row = '';
    let used = 0;
    for (const c of i === 0 ? prefix + line : pad + line) {
      const w = columnsOf(c);
      if (used + w > columns - 1) {
        rows.push(row);
        row = pad;
        used = pad.length;
      }
      row += c;
      used += w;
    }
    rows.push(row);
  });
  return rows.join('\n');
}

/** The width of `stream` when it is a terminal (for `safeLine`), else undefined. */
export function terminalColumns(stream: NodeJS.WriteStream): number | undefined {
  return stream.isTTY ? stream.columns : undefined;
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
