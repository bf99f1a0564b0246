/**
 * The injected randomness source. The protocol core never draws randomness of its own: every
 * function that needs fresh bytes takes a `RandomSource`, so tests can be deterministic and
 * hosts choose their CSPRNG (node:crypto `randomFillSync`, WebCrypto `getRandomValues`).
 */

/** Returns `length` fresh cryptographically secure random bytes. */
export type RandomSource = (length: number) => Uint8Array;
