/**
 * Byte helpers shared by the protocol modules: edge checks that name the offending field,
 * concatenation, constant-time comparison, fixed-width integer encoding, and plain views of
 * subclassed arrays.
 *
 * Everything is `Uint8Array` (no `Buffer`), so the package runs unchanged in browsers.
 */
import { ProtocolError } from './errors.ts';

/** Throws `INVALID_ARGUMENT` unless `value` is a Uint8Array (of `length` bytes, if given). */
export function assertBytes(name: string, value: unknown, length?: number): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} to be a Uint8Array`);
  }
  if (length !== undefined && value.length !== length) {
    throw new ProtocolError('INVALID_ARGUMENT', `expected ${name} of ${length} bytes, got ${value.length}`);
  }
}

/**
 * A plain `Uint8Array` over the same bytes (no copy): what the package hands out when a platform
 * call returns a subclass, such as Node's `Buffer`.
 */
export function plainBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Concatenates byte arrays into a new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Compares two byte arrays in time that depends only on their lengths, for secrets
 * (MACs, keys). Length is not secret in any caller.
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

/** True when every byte is zero, examined in constant time (used on DH outputs). */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i] as number;
  return acc === 0;
}

/** Big-endian 32-bit unsigned integer encoding. */
export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected a 32-bit unsigned integer');
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/** UTF-8 encoding of a label or string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** A copy of `bytes` that shares no memory with it. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

/** Lexicographic comparison of two byte arrays (not constant time; for public values). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
