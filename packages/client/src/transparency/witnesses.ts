/**
 * Witness cosignatures of directory heads (docs/protocol.md §19–§20): an auditor that verified a head
 * signs `"parley-kt-v1 witness cosignature" ‖ 0x00 ‖ body` (the head's 121-byte body) with its
 * Ed25519 key. A `kt-head` answer carries the cosignatures, the number a head needs and the
 * witness keys that count; the client never lowers either once seen (see `KtPins`).
 */
import { type CryptoProvider, fromBase64Url, toBase64Url } from '@parley/protocol';
import { type SignedTreeHead, verifyCosignature } from '@parley/protocol/kt';
import type { KtPins } from './kt-store.ts';

/** Most witness keys or cosignatures read from one answer. */
const MAX_WITNESSES = 64;

/** How many distinct configured witnesses validly cosigned `head`, and the configuration to keep. */
export async function countCosignatures(
  crypto: CryptoProvider,
  pins: KtPins,
  head: SignedTreeHead,
  answer: unknown,
): Promise<{ valid: number; required: number; keys: string[] }> {
  const a = (typeof answer === 'object' && answer !== null ? answer : {}) as Record<string, unknown>;
  const announced = Array.isArray(a.witnessKeys) ? a.witnessKeys.slice(0, MAX_WITNESSES) : [];
  const keys = [...new Set([...pins.witnessKeys, ...announced.filter((k): k is string => typeof k === 'string')])];
  const required = Number.isSafeInteger(a.requireWitnesses) ? Math.max(0, a.requireWitnesses as number) : 0;
  const cosigs = Array.isArray(a.cosignatures) ? a.cosignatures.slice(0, MAX_WITNESSES) : [];
  const counted = new Set<string>();
  for (const c of cosigs) {
    const { key, sig } = (c ?? {}) as { key?: unknown; sig?: unknown };
    if (typeof key !== 'string' || typeof sig !== 'string' || !keys.includes(key) || counted.has(key)) continue;
    try {
      const k = fromBase64Url('key', key);
      const s = fromBase64Url('sig', sig);
      if (await verifyCosignature(crypto, k, head.head, s)) counted.add(toBase64Url(k));
    } catch {
      // A cosignature that does not decode counts for nothing; the head may still have enough.
    }
  }
  return { valid: counted.size, required, keys };
}
