/**
 * ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 §5, suite string 0x03): the verifiable random function
 * that hides account names in the key-transparency map (issue 20, docs/protocol.md §18). The
 * server holds the VRF secret key; for a name it publishes the map key (the first 32 bytes of the
 * VRF output) and an 80-byte proof that anyone holding the VRF public key checks, so a lookup
 * proof reveals no other account's name while the server cannot pick map keys at will.
 *
 * This module is the one composition of primitives the project allows: the group arithmetic is
 * `@noble/curves`' edwards25519 point type (strict RFC 8032 §5.1.3 decoding, constant-time
 * `multiply` for secret scalars) and the hash is `@noble/hashes`' SHA-512. Each function below
 * names the RFC 9381 step it implements; the RFC's Appendix B.3 vectors are the unit tests'.
 *
 * Parameters of the suite (RFC 9381 §5.5): the group is edwards25519 (cofactor 8, prime order
 * q = L = 2^252 + 27742317777372353535851937790883648493), ptLen = 32, qLen = 32, cLen = 16,
 * hash SHA-512 (hLen = 64), point_to_string / string_to_point are RFC 8032's encoding,
 * int_to_string / string_to_int are little-endian, encode_to_curve is try-and-increment with
 * the public key string as salt, and the nonce is RFC 8032 §5.1.6's (RFC 9381 §5.4.2.2).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { assertBytes, concatBytes, constantTimeEqual, utf8 } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import type { RandomSource } from '../random.ts';
import { ACCOUNT_NAME_PATTERN } from '../relay/frames.ts';

type Point = InstanceType<typeof ed25519.Point>;
const Point = ed25519.Point;

/** Length of a VRF secret key (an RFC 8032 Ed25519 secret key, "SK"). */
export const VRF_SECRET_KEY_LENGTH = 32;
/** Length of a VRF public key (an RFC 8032 point encoding, "PK_string"). */
export const VRF_PUBLIC_KEY_LENGTH = 32;
/** Length of a proof `pi_string`: ptLen + cLen + qLen = 32 + 16 + 32. */
export const VRF_PROOF_LENGTH = 80;
/** Length of the VRF output `beta_string` (hLen, SHA-512). */
export const VRF_OUTPUT_LENGTH = 64;

/** suite_string of ECVRF-EDWARDS25519-SHA512-TAI (RFC 9381 §5.5). */
const SUITE = 0x03;
const PT_LEN = 32;
const C_LEN = 16;
const Q_LEN = 32;
/** The prime order q of the edwards25519 base point (RFC 8032's L). */
const Q = 2n ** 252n + 27742317777372353535851937790883648493n;

/** A VRF key pair: `secretKey` is the 32-byte seed SK, `publicKey` is PK_string. */
export type VrfKeyPair = { readonly secretKey: Uint8Array; readonly publicKey: Uint8Array };

function stringToInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

function intToString(n: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let rest = n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  if (rest !== 0n) throw new ProtocolError('INTERNAL', 'VRF integer does not fit its encoding');
  return out;
}

/** string_to_point: RFC 8032 §5.1.3 decoding (y < p, no x = 0 with the sign bit); null if invalid. */
function stringToPoint(bytes: Uint8Array): Point | null {
  try {
    return Point.fromBytes(bytes, false);
  } catch {
    return null;
  }
}

/** RFC 8032 §5.1.5: x is the clamped first half of SHA-512(SK); the second half is the nonce prefix. */
function expandSecretKey(secretKey: Uint8Array): { x: bigint; prefix: Uint8Array; publicKey: Uint8Array } {
  const { scalar, prefix, pointBytes } = ed25519.utils.getExtendedPublicKey(secretKey);
  return { x: scalar, prefix, publicKey: pointBytes };
}

/**
 * ECVRF_encode_to_curve_try_and_increment (RFC 9381 §5.4.1.1) with encode_to_curve_salt =
 * PK_string: hash suite ‖ 0x01 ‖ salt ‖ alpha ‖ ctr ‖ 0x00, read the first 32 bytes as a point
 * (interpret_hash_value_as_a_point), clear the cofactor, and try the next ctr while that fails
 * or gives the identity.
 */
function encodeToCurve(salt: Uint8Array, alpha: Uint8Array): Point {
  for (let ctr = 0; ctr < 256; ctr++) {
    const hash = sha512(concatBytes(Uint8Array.of(SUITE, 0x01), salt, alpha, Uint8Array.of(ctr, 0x00)));
    const candidate = stringToPoint(hash.subarray(0, PT_LEN));
    if (candidate === null) continue;
    const h = candidate.clearCofactor();
    if (!h.is0()) return h;
  }
  // Probability about 2^-256 (RFC 9381 §5.4.1.1).
  throw new ProtocolError('INTERNAL', 'VRF encode_to_curve found no point in 256 tries');
}

/** ECVRF_nonce_generation_RFC8032 (RFC 9381 §5.4.2.2): SHA-512(prefix ‖ h_string) mod q. */
function nonce(prefix: Uint8Array, hString: Uint8Array): bigint {
  return stringToInt(sha512(concatBytes(prefix, hString))) % Q;
}

/** ECVRF_challenge_generation (RFC 9381 §5.4.3): the first cLen bytes of the hash, as an integer. */
function challenge(p1: Point, p2: Point, p3: Point, p4: Point, p5: Point): bigint {
  const str = concatBytes(
    Uint8Array.of(SUITE, 0x02),
    p1.toBytes(),
    p2.toBytes(),
    p3.toBytes(),
    p4.toBytes(),
    p5.toBytes(),
    Uint8Array.of(0x00),
  );
  return stringToInt(sha512(str).subarray(0, C_LEN));
}

/** ECVRF_decode_proof (RFC 9381 §5.4.4): Gamma must decode and s must be below q. */
function decodeProof(proof: Uint8Array): { gamma: Point; c: bigint; s: bigint } {
  const gamma = stringToPoint(proof.subarray(0, PT_LEN));
  if (gamma === null) throw new ProtocolError('VRF_INVALID', 'VRF proof: Gamma is not a valid point encoding');
  const c = stringToInt(proof.subarray(PT_LEN, PT_LEN + C_LEN));
  const s = stringToInt(proof.subarray(PT_LEN + C_LEN, PT_LEN + C_LEN + Q_LEN));
  if (s >= Q) throw new ProtocolError('VRF_INVALID', 'VRF proof: s is not below the group order');
  return { gamma, c, s };
}

function checkProofLength(proof: unknown): asserts proof is Uint8Array {
  if (!(proof instanceof Uint8Array) || proof.length !== VRF_PROOF_LENGTH) {
    throw new ProtocolError('VRF_INVALID', `VRF proof must be ${VRF_PROOF_LENGTH} bytes`);
  }
}

/** The VRF key pair of a 32-byte secret key (RFC 8032 §5.1.5; the same as Ed25519's). */
export function vrfKeyPair(secretKey: Uint8Array): VrfKeyPair {
  assertBytes('VRF secret key', secretKey, VRF_SECRET_KEY_LENGTH);
  const sk = Uint8Array.from(secretKey);
  return { secretKey: sk, publicKey: expandSecretKey(sk).publicKey };
}

/** A fresh VRF key pair, its 32-byte secret key drawn from `random`. */
export function generateVrfKeyPair(random: RandomSource): VrfKeyPair {
  return vrfKeyPair(random(VRF_SECRET_KEY_LENGTH));
}

/** ECVRF_prove (RFC 9381 §5.1): the 80-byte proof pi_string = Gamma ‖ c ‖ s for `alpha`. */
export function vrfProve(secretKey: Uint8Array, alpha: Uint8Array): Uint8Array {
  assertBytes('VRF secret key', secretKey, VRF_SECRET_KEY_LENGTH);
  assertBytes('VRF input', alpha);
  // 1. x and Y = x*B (PK_string).
  const { x, prefix, publicKey } = expandSecretKey(secretKey);
  const y = Point.fromBytes(publicKey);
  // 2–3. H = encode_to_curve(PK_string, alpha), h_string.
  const h = encodeToCurve(publicKey, alpha);
  const hString = h.toBytes();
  // 4. Gamma = x*H (secret scalar: the constant-time multiply).
  const gamma = h.multiply(x);
  // 5. k = nonce (never 0 in practice; multiply refuses 0, which fails closed).
  const k = nonce(prefix, hString);
  // 6. c = challenge(Y, H, Gamma, k*B, k*H).
  const c = challenge(y, h, gamma, Point.BASE.multiply(k), h.multiply(k));
  // 7. s = (k + c*x) mod q.
  const s = (k + c * x) % Q;
  // 8. pi_string = point_to_string(Gamma) ‖ int_to_string(c, cLen) ‖ int_to_string(s, qLen).
  return concatBytes(gamma.toBytes(), intToString(c, C_LEN), intToString(s, Q_LEN));
}

/**
 * ECVRF_proof_to_hash (RFC 9381 §5.2): beta_string = SHA-512(suite ‖ 0x03 ‖
 * point_to_string(cofactor*Gamma) ‖ 0x00). Only meaningful for a proof that `vrfVerify` accepted
 * (or that `vrfProve` made); throws `VRF_INVALID` when the proof does not decode.
 */
export function vrfProofToHash(proof: Uint8Array): Uint8Array {
  checkProofLength(proof);
  const { gamma } = decodeProof(proof);
  return sha512(concatBytes(Uint8Array.of(SUITE, 0x03), gamma.clearCofactor().toBytes(), Uint8Array.of(0x00)));
}

/**
 * ECVRF_verify (RFC 9381 §5.3) with validate_key (§5.4.5) always on: returns the 64-byte output
 * beta_string when `proof` is a valid proof for `alpha` under `publicKey`, and throws
 * `ProtocolError('VRF_INVALID')` otherwise — a proof or key of the wrong length, a point encoding
 * that is not canonical or not on the curve, a public key of small order, s ≥ q, or a challenge
 * that does not match.
 */
export function vrfVerify(publicKey: Uint8Array, alpha: Uint8Array, proof: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== VRF_PUBLIC_KEY_LENGTH) {
    throw new ProtocolError('VRF_INVALID', `VRF public key must be ${VRF_PUBLIC_KEY_LENGTH} bytes`);
  }
  assertBytes('VRF input', alpha);
  checkProofLength(proof);
  // 1–3. Y = string_to_point(PK_string); validate_key: cofactor*Y must not be the identity.
  const y = stringToPoint(publicKey);
  if (y === null) throw new ProtocolError('VRF_INVALID', 'VRF public key is not a valid point encoding');
  if (y.isSmallOrder()) throw new ProtocolError('VRF_INVALID', 'VRF public key is of small order');
  // 4–6. (Gamma, c, s) = decode_proof(pi_string).
  const { gamma, c, s } = decodeProof(proof);
  // 7. H = encode_to_curve(PK_string, alpha).
  const h = encodeToCurve(publicKey, alpha);
  // 8–9. U = s*B - c*Y, V = s*H - c*Gamma (public scalars: variable time is fine).
  const u = Point.BASE.multiplyUnsafe(s).subtract(y.multiplyUnsafe(c));
  const v = h.multiplyUnsafe(s).subtract(gamma.multiplyUnsafe(c));
  // 10–11. c' = challenge(Y, H, Gamma, U, V); valid iff c = c'.
  const cPrime = challenge(y, h, gamma, u, v);
  if (!constantTimeEqual(intToString(c, C_LEN), intToString(cPrime, C_LEN))) {
    throw new ProtocolError('VRF_INVALID', 'VRF proof does not verify');
  }
  return vrfProofToHash(proof);
}

/** Domain prefix of the VRF input for an account name (docs/protocol.md §18). */
export const KT_ACCOUNT_VRF_PREFIX = 'parley-kt-v1 account\0';
/** Length of a key-transparency map key: the first 32 bytes of the VRF output. */
export const KT_MAP_KEY_LENGTH = 32;

/**
 * The VRF input alpha for an account name: UTF-8 of `"parley-kt-v1 account\0"` followed by the
 * name. Account names are already normalised (3–32 characters of `[a-z0-9_.-]`, the relay
 * refuses anything else), so the name is checked, not rewritten.
 */
export function ktAccountVrfInput(name: string): Uint8Array {
  if (typeof name !== 'string' || !ACCOUNT_NAME_PATTERN.test(name)) {
    throw new ProtocolError('INVALID_ARGUMENT', 'not a valid account name');
  }
  return utf8(KT_ACCOUNT_VRF_PREFIX + name);
}

/** The key-transparency map key of a VRF output: its first 32 bytes. */
export function ktMapKey(vrfOutput: Uint8Array): Uint8Array {
  assertBytes('VRF output', vrfOutput, VRF_OUTPUT_LENGTH);
  return vrfOutput.slice(0, KT_MAP_KEY_LENGTH);
}
