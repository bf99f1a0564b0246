/**
 * `@parley/protocol`: the pure protocol core. No I/O, no clock, no ambient randomness:
 * hosts inject a `CryptoProvider` and a `RandomSource`. This file is the package's only
 * public entry point.
 */
export * from './bytes.ts';
export type * from './crypto/provider.ts';
export * from './crypto/provider.ts';
export * from './errors.ts';
export type * from './random.ts';
