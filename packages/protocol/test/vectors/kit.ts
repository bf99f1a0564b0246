/**
 * Shared pieces of the known-answer vectors (docs/protocol.md §15): hex helpers, a
 * `RandomSource` that hands out fixed draws, the providers each vector is rebuilt under, and
 * the frozen JSON files. The tests only read those files; `generate.ts` alone writes them.
 *
 * Every area module (`<area>.vectors.ts`) exports `makeInputs()` (the fixed inputs, used only by
 * the generator) and `build(provider, inputs)`, which recomputes every frozen value from the
 * inputs as a flat map of name → hex (or text). A test compares that map with the frozen one,
 * then decodes the frozen bytes and checks their fields by hand.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createNodeCryptoProvider } from '../../src/crypto/node-provider.ts';
import {
  type CryptoProvider,
  createWebCryptoProvider,
  type DeviceIdentityKeyPair,
  generateDeviceIdentity,
  type RandomSource,
} from '../../src/index.ts';

/** Lower-case hex without separators, as the JSON files hold bytes. */
export type Hex = string;

/** What a vector file holds: why it exists, the fixed inputs, and the frozen outputs. */
export interface VectorFile<I> {
  readonly about: string;
  readonly inputs: I;
  readonly expected: Record<string, string>;
}

export function toHex(bytes: Uint8Array): Hex {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function fromHex(hex: Hex): Uint8Array {
  if (typeof hex !== 'string' || !/^(?:[0-9a-f]{2})*$/.test(hex)) throw new Error('expected lower-case hex');
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

/** `n` (≤ 64) fixed bytes named by `label`: SHA-512 of the label, so inputs are reproducible and unrelated. */
export function fixedBytes(label: string, n: number): Hex {
  if (n > 64) throw new Error('fixedBytes gives at most 64 bytes');
  return toHex(createHash('sha512').update(`parley known-answer vectors/${label}`).digest().subarray(0, n));
}

/** A `RandomSource` that returns exactly `draws`, in order, and counts what is left. */
export type FixedRandom = RandomSource & { readonly left: () => number };

/**
 * The deterministic randomness the vectors inject: each call must ask for exactly the length of
 * the next draw, and asking for more draws than listed throws, so a change in what a function
 * draws (or in what order) fails loudly instead of silently shifting every value after it.
 */
export function fixedRandom(draws: readonly Hex[]): FixedRandom {
  let next = 0;
  const random = (length: number): Uint8Array => {
    const draw = draws[next];
    if (draw === undefined) throw new Error(`fixed randomness exhausted after ${next} draws`);
    const bytes = fromHex(draw);
    if (bytes.length !== length) throw new Error(`draw ${next} has ${bytes.length} bytes, ${length} were asked`);
    next++;
    return bytes;
  };
  return Object.assign(random, { left: () => draws.length - next });
}

/** Runs `use` with a fixed random source and checks it consumed every draw. */
export async function withDraws<T>(draws: readonly Hex[], use: (random: RandomSource) => Promise<T>): Promise<T> {
  const random = fixedRandom(draws);
  const out = await use(random);
  if (random.left() !== 0) throw new Error(`${random.left()} fixed random draws were not used`);
  return out;
}

/** The two fixed draws of a device identity (Ed25519 seed, X25519 private key). */
export interface DeviceSeeds {
  readonly signingSeed: Hex;
  readonly dhPrivateKey: Hex;
}

export function makeDeviceSeeds(label: string): DeviceSeeds {
  return { signingSeed: fixedBytes(`${label}/signing`, 32), dhPrivateKey: fixedBytes(`${label}/dh`, 32) };
}

export function deviceFrom(provider: CryptoProvider, seeds: DeviceSeeds): Promise<DeviceIdentityKeyPair> {
  return withDraws([seeds.signingSeed, seeds.dhPrivateKey], (r) => generateDeviceIdentity(provider, r));
}

/** A provider and the name a test reports it under. */
export interface NamedProvider {
  readonly label: string;
  readonly provider: CryptoProvider;
}

/**
 * Providers that rebuild every vector, encapsulation included. The node provider is forced onto
 * noble's ML-KEM: on Node.js ≥ 24.7 its default ML-KEM is OpenSSL's, whose encapsulation draws
 * its 32 random bytes from OpenSSL's own generator (Node cannot pass ours in), so a PQXDH
 * initial message could not be reproduced there. noble's takes the injected randomness, and
 * FIPS 203 makes both compute the same function of it (test/crypto/mlkem-openssl.test.ts). The
 * WebCrypto provider always runs noble's.
 */
export const rebuildProviders: readonly NamedProvider[] = [
  { label: 'node (noble ML-KEM)', provider: createNodeCryptoProvider({ mlKem: 'noble' }) },
  { label: 'webcrypto', provider: createWebCryptoProvider() },
];

/**
 * The default node provider (OpenSSL ML-KEM on Node.js ≥ 24.7, noble's before): used where a
 * vector is deterministic under it too (everything but an encapsulation), and to decapsulate
 * and decode the frozen messages, so the runtime's own path is checked against the same bytes.
 */
export const defaultNodeProvider: NamedProvider = (() => {
  const provider = createNodeCryptoProvider();
  return { label: `node default (${provider.name})`, provider };
})();

/** True when `provider` runs ML-KEM on OpenSSL, which keeps a key it generates as its 64-byte seed. */
export function keepsKemSeeds(provider: CryptoProvider): boolean {
  return provider.name === 'node+openssl-mlkem';
}

function fileOf(area: string): URL {
  return new URL(`./${area}.json`, import.meta.url);
}

/** Reads a frozen vector file. */
export function readVectors<I>(area: string): VectorFile<I> {
  return JSON.parse(readFileSync(fileOf(area), 'utf8')) as VectorFile<I>;
}

/** Writes a vector file (generate.ts only: tests never regenerate). Returns its path. */
export function writeVectors<I>(area: string, file: VectorFile<I>): string {
  const url = fileOf(area);
  writeFileSync(url, `${JSON.stringify(file, null, 2)}\n`);
  return url.pathname;
}

/** Asserts that a rebuilt map of outputs equals the frozen one, name by name. */
export function assertFrozen(rebuilt: Record<string, string>, expected: Record<string, string>): void {
  assert.deepEqual(
    Object.keys(rebuilt).sort(),
    Object.keys(expected).sort(),
    'the rebuilt outputs are the frozen ones',
  );
  for (const [name, value] of Object.entries(expected)) {
    assert.equal(rebuilt[name], value, `${name} differs from its frozen value`);
  }
}

/** A frozen value by name (a missing name is a broken vector file). */
export function frozen(expected: Record<string, string>, name: string): Uint8Array {
  const value = expected[name];
  if (value === undefined) throw new Error(`vector file lacks ${name}`);
  return fromHex(value);
}
