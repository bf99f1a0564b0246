/**
 * Safety numbers: a human-comparable fingerprint of two accounts' identity keys, built like
 * Signal's numeric fingerprint (iterated SHA-512, 5,200 rounds, 30 digits per party, halves
 * sorted so both sides see the same 60 digits) plus a compact QR payload.
 */
import { assertBytes, compareBytes, concatBytes, constantTimeEqual, utf8 } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';

const ITERATIONS = 5200;
const FINGERPRINT_VERSION = new Uint8Array([0, 0]);
const QR_VERSION = 1;

/** The inputs: both parties' account names and account identity public keys (Ed25519). */
export interface SafetyNumberInput {
  readonly ourName: string;
  readonly ourAccountKey: Uint8Array;
  readonly theirName: string;
  readonly theirAccountKey: Uint8Array;
}

/** A computed safety number. */
export interface SafetyNumber {
  /** 60 decimal digits. */
  readonly digits: string;
  /** The digits in 12 groups of 5 for display. */
  readonly groups: readonly string[];
  /** Version byte, then both 32-byte fingerprints in sorted order (what the QR code carries). */
  readonly qrPayload: Uint8Array;
}

async function fingerprint(provider: CryptoProvider, name: string, key: Uint8Array): Promise<Uint8Array> {
  assertBytes('accountKey', key, 32);
  let hash = concatBytes(FINGERPRINT_VERSION, key, utf8(name));
  for (let i = 0; i < ITERATIONS; i++) hash = await provider.sha512(concatBytes(hash, key));
  return hash;
}

function digitsOf(hash: Uint8Array): string {
  let out = '';
  for (let chunk = 0; chunk < 6; chunk++) {
    let n = 0;
    for (let i = 0; i < 5; i++) n = n * 256 + (hash[chunk * 5 + i] as number);
    out += String(n % 100000).padStart(5, '0');
  }
  return out;
}

/** Computes the safety number both parties will see for the pair of accounts. */
export async function computeSafetyNumber(provider: CryptoProvider, input: SafetyNumberInput): Promise<SafetyNumber> {
  const ours = await fingerprint(provider, input.ourName, input.ourAccountKey);
  const theirs = await fingerprint(provider, input.theirName, input.theirAccountKey);
  const halves = [digitsOf(ours), digitsOf(theirs)].sort();
  const digits = halves.join('');
  const groups = digits.match(/.{5}/g) ?? [];
  const prints = [ours.slice(0, 32), theirs.slice(0, 32)].sort(compareBytes);
  return { digits, groups, qrPayload: concatBytes(new Uint8Array([QR_VERSION]), ...prints) };
}

/** True when a scanned QR payload matches ours (constant-time; unknown versions are refused). */
export function compareSafetyNumberQr(ours: SafetyNumber, scanned: Uint8Array): boolean {
  if (!(scanned instanceof Uint8Array) || scanned.length !== 65) {
    throw new ProtocolError('MALFORMED_MESSAGE', 'expected a safety number QR payload of 65 bytes');
  }
  if (scanned[0] !== QR_VERSION) throw new ProtocolError('UNKNOWN_VERSION', 'unknown safety number QR version');
  return constantTimeEqual(ours.qrPayload, scanned);
}
