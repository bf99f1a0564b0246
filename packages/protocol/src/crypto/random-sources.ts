/**
 * Host randomness sources to inject into the protocol (it never calls these itself):
 * node:crypto's CSPRNG and WebCrypto's `getRandomValues`.
 */
import { randomFillSync } from 'node:crypto';
import type { RandomSource } from '../random.ts';

/** A `RandomSource` on node:crypto's CSPRNG. */
export function createNodeRandom(): RandomSource {
  return (length) => randomFillSync(new Uint8Array(length));
}
