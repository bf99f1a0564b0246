/**
 * What a file is, by its first bytes: the only test the page uses to decide whether an
 * attachment may be shown inline (the declared type and the name are the sender's to choose).
 */

/** The image types shown inline (by their magic bytes); everything else, SVG included, is a file card. */
export type ImageType = 'image/png' | 'image/jpeg' | 'image/webp' | 'image/gif';
/** The audio types played inline (voice notes). */
export type AudioType = 'audio/webm' | 'audio/ogg';

const starts = (b: Uint8Array, sig: readonly number[], at = 0) => sig.every((x, i) => b[at + i] === x);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The image type of a file from its first bytes, or undefined (SVG and everything else). */
export function sniffImage(head: Uint8Array): ImageType | undefined {
  if (starts(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts(head, ascii('GIF87a')) || starts(head, ascii('GIF89a'))) return 'image/gif';
  if (starts(head, ascii('RIFF')) && starts(head, ascii('WEBP'), 8)) return 'image/webp';
  return undefined;
}

/** The audio type of a file from its first bytes (WebM/Matroska, Ogg), or undefined. */
export function sniffAudio(head: Uint8Array): AudioType | undefined {
  if (starts(head, [0x1a, 0x45, 0xdf, 0xa3])) return 'audio/webm';
  if (starts(head, ascii('OggS'))) return 'audio/ogg';
  return undefined;
}
