/**
 * Base64url without padding (RFC 4648 §5), for JSON edges only (STYLE.md §3). Decoding is
 * strict: only the url-safe alphabet, no padding, and the encoding must be canonical, so one
 * byte string has exactly one text form.
 *
 * Where the host has Node's `Buffer` (the server, the CLI) its native codec is used — about
 * ten times faster than the portable path through `btoa`/`atob`, which browsers take.
 */
import { plainBytes } from './bytes.ts';
import { ProtocolError } from './errors.ts';

const PATTERN = /^[A-Za-z0-9_-]*$/;

interface NodeBuffer {
  from(data: Uint8Array | ArrayBufferLike, offset?: number, length?: number): { toString(enc: string): string };
  from(data: string, enc: string): Uint8Array;
}
const NativeBuffer = (globalThis as { Buffer?: NodeBuffer }).Buffer;

function encodePortable(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodePortable(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Encodes bytes as unpadded base64url. */
export function toBase64Url(bytes: Uint8Array): string {
  if (NativeBuffer !== undefined) {
    return NativeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
  }
  return encodePortable(bytes);
}

/** Decodes unpadded, canonical base64url; `name` labels the field in the error. */
export function fromBase64Url(name: string, text: unknown): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 === 1 || !PATTERN.test(text)) {
    throw new ProtocolError('MALFORMED_MESSAGE', `expected ${name} as base64url`);
  }
  let out: Uint8Array;
  if (NativeBuffer !== undefined) {
    out = plainBytes(NativeBuffer.from(text, 'base64url'));
  } else {
    out = decodePortable(text);
  }
  // Canonical: the unused low bits of the last character must be zero (re-encoding gives the text back).
  const tail = text.length % 4 === 2 ? 1 : 2; // bytes in the last, partial group
  if (text.length % 4 !== 0 && toBase64Url(out.subarray(out.length - tail)).at(-1) !== text.at(-1)) {
    throw new ProtocolError('MALFORMED_MESSAGE', `expected ${name} as canonical base64url`);
  }
  return out;
}

/** The portable codec, exported for tests that check both paths agree. */
export const portableBase64Url = { encode: encodePortable, decode: decodePortable };
