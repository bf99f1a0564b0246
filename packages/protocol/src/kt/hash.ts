/**
 * The hash the key-transparency structures are built on: SHA-256, synchronous, one call per
 * node. Verification code uses `@noble/hashes` (runs in browsers); a server that builds large
 * trees may inject a faster one (node:crypto's `createHash('sha256')`), which must compute the
 * same function.
 */
import { sha256 } from '@noble/hashes/sha2.js';

/** SHA-256 of `data` (32 bytes). Must be a pure function. */
export type KtHashFunction = (data: Uint8Array) => Uint8Array;

/** The default: `@noble/hashes` SHA-256. */
export const ktSha256: KtHashFunction = (data) => sha256(data);

/** Length of every hash, root and key in the structures. */
export const KT_HASH_LENGTH = 32;
