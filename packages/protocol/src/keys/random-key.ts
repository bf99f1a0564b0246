/**
 * Fresh key material from the injected random source: the one place raw secrets are drawn, so
 * every key generator checks the source's output the same way.
 */
import { assertBytes } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import type { RandomSource } from '../random.ts';

/** An X25519 key pair in raw form. */
export interface DhKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

/** Draws `length` bytes from `random`, refusing a source that returns anything else. */
export function randomSecret(random: RandomSource, length: number): Uint8Array {
  const bytes = random(length);
  assertBytes('random output', bytes, length);
  return bytes;
}

/** Generates an X25519 key pair from 32 injected random bytes. */
export async function generateDhKeyPair(provider: CryptoProvider, random: RandomSource): Promise<DhKeyPair> {
  const privateKey = randomSecret(random, 32);
  return { privateKey, publicKey: await provider.x25519PublicKey(privateKey) };
}
