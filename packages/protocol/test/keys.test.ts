import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeAccountIdentityRecord,
  decodeDeviceIdentityRecord,
  decodeKemPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodeSignedPreKeyRecord,
  encodeAccountIdentityRecord,
  encodeDeviceIdentityRecord,
  encodeKemPreKeyRecord,
  encodeOneTimePreKeyRecord,
  encodeSignedPreKeyRecord,
  generateAccountIdentity,
  generateDeviceIdentity,
  generateKemPreKey,
  generateOneTimePreKeys,
  generateSignedPreKey,
  isProtocolError,
  verifyDeviceIdentityPublic,
  verifyKemPreKey,
  verifySignedPreKey,
} from '../src/index.ts';
import { provider, random } from './helpers/parties.ts';

describe('keys and key records', () => {
  it('generate signed keys whose signatures verify, and only for the signed values', async () => {
    const device = await generateDeviceIdentity(provider, random);
    assert.equal(await verifyDeviceIdentityPublic(provider, device.publicIdentity), true);
    const spk = await generateSignedPreKey(provider, random, device, 7, 1234);
    assert.equal(await verifySignedPreKey(provider, device.publicIdentity, 7, 1, spk.publicKey, spk.signature), true);
    assert.equal(await verifySignedPreKey(provider, device.publicIdentity, 8, 1, spk.publicKey, spk.signature), false);
    const kem = await generateKemPreKey(provider, random, device, 3, false, 5000);
    assert.equal(
      await verifyKemPreKey(provider, device.publicIdentity, 3, false, 5, kem.publicKey, kem.signature),
      true,
    );
    assert.equal(
      await verifyKemPreKey(provider, device.publicIdentity, 3, true, 5, kem.publicKey, kem.signature),
      false,
    );
    // A signed-prekey signature is not a valid KEM-prekey signature (domain separation).
    const other = await generateDeviceIdentity(provider, random);
    assert.equal(await verifySignedPreKey(provider, other.publicIdentity, 7, 1, spk.publicKey, spk.signature), false);
  });

  it('round-trip every key record and reject unknown versions and wrong lengths', async () => {
    const account = await generateAccountIdentity(provider, random);
    const device = await generateDeviceIdentity(provider, random);
    const spk = await generateSignedPreKey(provider, random, device, 1, 1700000000000);
    const [otp] = await generateOneTimePreKeys(provider, random, 5, 1);
    const kem = await generateKemPreKey(provider, random, device, 9, true, 1700000000000);
    const otherForm = { ...kem, secretKey: random(kem.secretKey.length === 64 ? 3168 : 64) };
    const cases: [Uint8Array, (b: Uint8Array) => unknown, unknown][] = [
      [encodeAccountIdentityRecord(account), decodeAccountIdentityRecord, account],
      [encodeDeviceIdentityRecord(device), decodeDeviceIdentityRecord, device],
      [encodeSignedPreKeyRecord(spk), decodeSignedPreKeyRecord, spk],
      [encodeOneTimePreKeyRecord(otp!), decodeOneTimePreKeyRecord, otp],
      [encodeKemPreKeyRecord(kem), decodeKemPreKeyRecord, kem],
      // The other form of a KEM secret key (expanded, or the 64-byte seed OpenSSL keeps): KemKeyPair.
      [encodeKemPreKeyRecord(otherForm), decodeKemPreKeyRecord, otherForm],
    ];
    for (const [bytes, decode, original] of cases) {
      assert.deepEqual(decode(bytes), original);
      const v2 = bytes.slice();
      v2[0] = 2;
      assert.throws(
        () => decode(v2),
        (e: unknown) => isProtocolError(e, 'UNKNOWN_VERSION'),
      );
      assert.throws(
        () => decode(bytes.subarray(0, bytes.length - 1)),
        (e: unknown) => isProtocolError(e, 'MALFORMED_MESSAGE'),
      );
    }
    // A KEM record with a secret key of neither length is refused, naming both lengths it takes.
    assert.throws(
      () => decodeKemPreKeyRecord(encodeKemPreKeyRecord({ ...kem, secretKey: random(65) })),
      (e: unknown) =>
        isProtocolError(e, 'MALFORMED_MESSAGE') && /of 4815 or 1711 or 4807 or 1703 bytes$/.test((e as Error).message),
    );
  });
});
