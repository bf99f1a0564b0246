/**
 * Message text as DOM nodes, never as HTML: http(s) links become anchors that open in a new
 * tab without giving it this page (`rel="noopener noreferrer"`), and a small formatting set
 * (*bold*, _italic_, `code`) becomes elements. Everything else, markup included, is text: Preact
 * creates text nodes, so `<img src=x onerror=…>` in a message shows as those characters.
 */
import type { ComponentChildren } from 'preact';

/**
 * One token: `code` (nothing inside is formatted), *bold* and _italic_ (a marker not inside a
 * word, so snake_case and 2*3*4 stay as they are), or an http(s) URL.
 */
const TOKEN =
  /(`[^`\n]+`)|((?<![\p{L}\p{N}*])\*(?=\S)[^*\n]*?\S\*(?![\p{L}\p{N}*]))|((?<![\p{L}\p{N}_])_(?=\S)[^_\n]*?\S_(?![\p{L}\p{N}_]))|(https?:\/\/[^\s<>"]+)/giu;

/** Characters that end a sentence rather than a URL. */
const TRAILING = /[.,;:!?)\]'’”]+$/u;

/** The URL `raw` if it is an http(s) URL the browser parses, else undefined. */
export function safeHref(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Renders `text` as text nodes, links and formatting elements. */
export function richText(text: string): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const [whole, code, bold, italic, url] = m;
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    let end = at + whole.length;
    if (code !== undefined) out.push(<code>{code.slice(1, -1)}</code>);
    else if (bold !== undefined) out.push(<strong>{richText(bold.slice(1, -1))}</strong>);
    else if (italic !== undefined) out.push(<em>{richText(italic.slice(1, -1))}</em>);
    else if (url !== undefined) {
      const trimmed = url.replace(TRAILING, '');
      end = at + trimmed.length;
      const href = safeHref(trimmed);
      out.push(
        href === undefined ? (
          trimmed
        ) : (
          <a href={href} target="_blank" rel="noopener noreferrer">
            {trimmed}
          </a>
        ),
      );
    }
    last = end;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** A message's text: formatted, links clickable, its direction taken from its own first strong character. */
export function RichText({ text }: { text: string }) {
  return (
    <p class="text" dir="auto">
      {richText(text)}
    </p>
  );
}
