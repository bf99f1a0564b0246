/**
 * Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
 * Communication with PURBs", PETS 2019, §4): a length L is rounded up so that only its top
 * ⌊log2 ⌊log2 L⌋⌋ + 1 bits may be non-zero. The overhead is at most about 12 % (and falls as L
 * grows), and a length of E significant bits leaks O(log E) bits instead of E.
 *
 * Plain arithmetic, not 32-bit bitwise operators: attachment blobs exceed 2^31 bytes.
 */
import { ProtocolError } from '../errors.ts';

/** The Padmé length of `length` (≥ `length`; lengths below 2 are their own bucket). */
export function padme(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new ProtocolError('INVALID_ARGUMENT', 'expected length to be a non-negative safe integer');
  }
  if (length < 2) return length;
  const e = Math.floor(Math.log2(length));
  const s = Math.floor(Math.log2(e)) + 1;
  const lastBits = e - s;
  const unit = 2 ** lastBits;
  return Math.ceil(length / unit) * unit;
}
