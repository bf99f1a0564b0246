/**
 * Base64url without padding (RFC 4648 §5), for JSON edges only (STYLE.md §3). Decoding is
 * strict: only the url-safe alphabet, no padding, and the encoding must be canonical, so one
 * byte string has exactly one text form.
 */
import { ProtocolError } from './errors.ts';

const PATTERN = /^[A-Za-z0-9_-]*$/;

/** Encodes bytes as unpadded base64url. */
export function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Decodes unpadded, canonical base64url; `name` labels the field in the error. */
export function fromBase64Url(name: string, text: unknown): Uint8Array {
  if (typeof text !== 'string' || !PATTERN.test(text) || text.length % 4 === 1) {
    throw new ProtocolError('MALFORMED_MESSAGE', `expected ${name} as base64url`);
  }
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  if (toBase64Url(out) !== text)
    throw new ProtocolError('MALFORMED_MESSAGE', `expected ${name} as canonical base64url`);
  return out;
}
