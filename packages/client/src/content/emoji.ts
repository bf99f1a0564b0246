/**
 * What counts as a reaction (docs/protocol.md §12.1): exactly one user-perceived character
 * (one extended grapheme cluster, UAX #29, as `Intl.Segmenter` splits text) that is an emoji:
 * it holds an Extended_Pictographic code point (UTS #51), or is a flag (two regional
 * indicators) or a keycap (`1️⃣`). Skin tones, ZWJ sequences and variation selectors stay
 * inside the one cluster.
 */

/** Most UTF-8 bytes of one reaction (the longest ZWJ family sequences are about 35). */
export const MAX_EMOJI_BYTES = 64;

const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
const FLAG = /^\p{Regional_Indicator}{2}$/u;
const KEYCAP = /^[0-9#*]\uFE0F?\u20E3$/u;
// Letters, digits, punctuation or spaces inside the cluster (a combining mark on a letter).
const NOT_EMOJI = /[\p{L}\p{N}\p{P}\p{Z}\p{Cc}]/u;

let segmenter: Intl.Segmenter | undefined;

/** True when `s` is exactly one emoji grapheme. */
export function isOneEmoji(s: string): boolean {
  if (s.length === 0 || new TextEncoder().encode(s).length > MAX_EMOJI_BYTES) return false;
  segmenter ??= new Intl.Segmenter('en', { granularity: 'grapheme' });
  const it = segmenter.segment(s)[Symbol.iterator]();
  const first = it.next();
  if (first.done === true || first.value.segment !== s || it.next().done !== true) return false;
  if (FLAG.test(s) || KEYCAP.test(s)) return true;
  return PICTOGRAPHIC.test(s) && !NOT_EMOJI.test(s);
}
