/**
 * Input checks that make platform Ed25519 verification strict (RFC 8032 §5.1.7 plus the
 * small-order exclusions of "Taming the many EdDSAs"): the scalar S must be canonical (< L) so a
 * signature cannot be malleated into a second valid one, and neither the public key nor R may be
 * a non-canonical encoding or a point of small order. The curve arithmetic stays the platform's.
 */
import { ED25519_PUBLIC_KEY_LENGTH, ED25519_SIGNATURE_LENGTH } from './provider.ts';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

/** y-coordinates (sign bit cleared) of the eight points of small order on edwards25519. */
const SMALL_ORDER_Y: readonly bigint[] = [
  0n,
  1n,
  P - 1n,
  0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n,
  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
];

function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

/** True when a 32-byte point encoding is canonical (y < p) and not of small order. */
function isAcceptablePoint(encoded: Uint8Array): boolean {
  const copy = encoded.slice();
  copy[31] = (copy[31] as number) & 0x7f;
  const y = littleEndian(copy);
  if (y >= P) return false;
  return !SMALL_ORDER_Y.includes(y);
}

/** Checks lengths, S < L, and canonical non-small-order A and R. */
export function isStrictEd25519Input(publicKey: unknown, signature: unknown): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  if (littleEndian(signature.subarray(32)) >= L) return false;
  return isAcceptablePoint(publicKey) && isAcceptablePoint(signature.subarray(0, 32));
}
