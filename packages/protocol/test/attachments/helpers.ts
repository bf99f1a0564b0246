/** Shared helpers for the attachment tests: a seeded provider, sources and collectors. */
import { createNodeCryptoProvider } from '../../src/node.ts';

export const crypto = createNodeCryptoProvider();

/** An async iterable over `bytes`, cut into pieces of `piece` bytes. */
export async function* piecesOf(bytes: Uint8Array, piece = 10_000): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += piece) yield bytes.slice(at, at + piece);
}

/** Collects an async iterable into one array. */
export async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  for await (const p of source) {
    parts.push(p);
    length += p.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Deterministic pseudo-random bytes (a test pattern, not a key). */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
