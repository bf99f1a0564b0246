/**
 * The checks every provider's X25519 makes around the platform call (RFC 7748 §6.1): a public
 * key of the wrong length, one the platform rejects, and an all-zero result (a low-order point)
 * are all `INVALID_KEY`.
 */
import { assertBytes, isAllZero } from '../bytes.ts';
import { ProtocolError } from '../errors.ts';
import { X25519_KEY_LENGTH } from './provider.ts';

/** Runs `derive` (the platform's X25519) with the edge checks shared by all providers. */
export async function checkedX25519(
  privateKey: Uint8Array,
  publicKey: Uint8Array,
  derive: () => Uint8Array | Promise<Uint8Array>,
): Promise<Uint8Array> {
  assertBytes('x25519 private key', privateKey, X25519_KEY_LENGTH);
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== X25519_KEY_LENGTH) {
    throw new ProtocolError('INVALID_KEY', 'expected an X25519 public key of 32 bytes');
  }
  let shared: Uint8Array;
  try {
    shared = await derive();
  } catch (cause) {
    throw new ProtocolError('INVALID_KEY', 'X25519 public key rejected', { cause });
  }
  if (isAllZero(shared)) throw new ProtocolError('INVALID_KEY', 'X25519 public key has low order');
  return shared;
}
