import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ml_kem1024 } from '@noble/post-quantum/ml-kem.js';
import {
  decodeAccountIdentityRecord,
  decodeDeviceIdentityPublic,
  decodeDeviceIdentityRecord,
  decodeKemPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodeSignedDeviceList,
  decodeSignedPreKeyRecord,
  encodeAccountIdentityRecord,
  encodeDeviceIdentityPublic,
  encodeDeviceIdentityRecord,
  encodeKemPreKeyRecord,
  encodeOneTimePreKeyRecord,
  encodeSignedDeviceList,
  encodeSignedPreKeyRecord,
  verifyDeviceIdentityPublic,
  verifyDeviceList,
  verifyKemPreKey,
  verifySignedPreKey,
} from '../../src/index.ts';
import { build, type KeysInputs } from './keys.vectors.ts';
import {
  assertFrozen,
  defaultNodeProvider,
  fixedBytes,
  fromHex,
  frozen,
  readVectors,
  rebuildProviders,
  toHex,
} from './kit.ts';

const v = readVectors<KeysInputs>('keys');
const e = v.expected;
const node = defaultNodeProvider.provider;
const all = [...rebuildProviders, defaultNodeProvider];

describe('key record vectors', () => {
  for (const { label, provider } of all) {
    it(`rebuilds every frozen key and record from the fixed seeds (${label})`, async () => {
      assertFrozen(await build(provider, v.inputs), e);
    });
  }

  it('decodes the frozen account identity record: version 1, type 1, public key, seed', () => {
    const bytes = frozen(e, 'accountIdentityRecord');
    assert.deepEqual([bytes.length, bytes[0], bytes[1]], [66, 1, 1]);
    const record = decodeAccountIdentityRecord(bytes);
    assert.equal(toHex(record.publicKey), e.accountPublicKey);
    assert.equal(toHex(record.privateKey), v.inputs.accountSeed);
    assert.equal(toHex(encodeAccountIdentityRecord(record)), e.accountIdentityRecord);
  });

  it('decodes the frozen device identity record and its bound public identity', async () => {
    const bytes = frozen(e, 'deviceIdentityRecord');
    assert.deepEqual([bytes.length, bytes[0], bytes[1]], [194, 1, 2]);
    const record = decodeDeviceIdentityRecord(bytes);
    assert.equal(toHex(record.signingPrivateKey), v.inputs.device.signingSeed);
    assert.equal(toHex(record.dhPrivateKey), v.inputs.device.dhPrivateKey);
    assert.equal(toHex(encodeDeviceIdentityPublic(record.publicIdentity)), e.deviceIdentityPublic);
    const pub = decodeDeviceIdentityPublic(frozen(e, 'deviceIdentityPublic'));
    assert.equal(toHex(pub.signingKey), toHex(await node.ed25519PublicKey(record.signingPrivateKey)));
    assert.equal(toHex(pub.dhKey), toHex(await node.x25519PublicKey(record.dhPrivateKey)));
    for (const { label, provider } of all) {
      assert.equal(await verifyDeviceIdentityPublic(provider, pub), true, label);
    }
    assert.equal(toHex(encodeDeviceIdentityRecord(record)), e.deviceIdentityRecord);
  });

  it('decodes the frozen signed prekey record: id, keys, signature, createdAt as float64', async () => {
    const bytes = frozen(e, 'signedPreKeyRecord');
    assert.deepEqual([bytes.length, bytes[0], bytes[1]], [142, 1, 3]);
    const record = decodeSignedPreKeyRecord(bytes);
    assert.equal(record.id, v.inputs.signedPreKey.id);
    assert.equal(record.createdAt, v.inputs.signedPreKey.createdAt);
    assert.equal(toHex(record.privateKey), v.inputs.signedPreKey.privateKey);
    assert.equal(toHex(record.publicKey), toHex(await node.x25519PublicKey(record.privateKey)));
    const identity = decodeDeviceIdentityPublic(frozen(e, 'deviceIdentityPublic'));
    const seconds = Math.floor(record.createdAt / 1000);
    assert.equal(
      await verifySignedPreKey(node, identity, record.id, seconds, record.publicKey, record.signature),
      true,
    );
    // The signature covers the creation time: a second later does not verify.
    assert.equal(
      await verifySignedPreKey(node, identity, record.id, seconds + 1, record.publicKey, record.signature),
      false,
    );
    assert.equal(toHex(encodeSignedPreKeyRecord(record)), e.signedPreKeyRecord);
  });

  it('decodes the frozen one-time prekey record', async () => {
    const bytes = frozen(e, 'oneTimePreKeyRecord');
    assert.deepEqual([bytes.length, bytes[0], bytes[1]], [70, 1, 4]);
    const record = decodeOneTimePreKeyRecord(bytes);
    assert.equal(record.id, v.inputs.oneTimePreKey.id);
    assert.equal(toHex(record.privateKey), v.inputs.oneTimePreKey.privateKey);
    assert.equal(toHex(record.publicKey), toHex(await node.x25519PublicKey(record.privateKey)));
    assert.equal(toHex(encodeOneTimePreKeyRecord(record)), e.oneTimePreKeyRecord);
  });

  it('decodes both frozen forms of the KEM prekey record to one key that decapsulates alike', async () => {
    const expanded = decodeKemPreKeyRecord(frozen(e, 'kemPreKeyRecordExpanded'));
    const seeded = decodeKemPreKeyRecord(frozen(e, 'kemPreKeyRecordSeed'));
    assert.equal(frozen(e, 'kemPreKeyRecordExpanded').length, 2 + 4 + 1 + 1568 + 3168 + 64 + 8);
    assert.equal(frozen(e, 'kemPreKeyRecordSeed').length, 2 + 4 + 1 + 1568 + 64 + 64 + 8);
    const identity = decodeDeviceIdentityPublic(frozen(e, 'deviceIdentityPublic'));
    for (const record of [expanded, seeded]) {
      assert.equal(record.id, v.inputs.kemPreKey.id);
      assert.equal(record.lastResort, v.inputs.kemPreKey.lastResort);
      assert.equal(record.createdAt, v.inputs.kemPreKey.createdAt);
      const seconds = Math.floor(record.createdAt / 1000);
      assert.equal(
        await verifyKemPreKey(node, identity, record.id, true, seconds, record.publicKey, record.signature),
        true,
      );
      assert.equal(
        await verifyKemPreKey(node, identity, record.id, true, seconds - 1, record.publicKey, record.signature),
        false,
      );
    }
    // A record stored before the creation time was signed (no trailing float64) still decodes, undated.
    const undated = decodeKemPreKeyRecord(frozen(e, 'kemPreKeyRecordSeed').slice(0, -8));
    assert.equal(undated.createdAt, 0);
    assert.equal(toHex(undated.secretKey), v.inputs.kemPreKey.seed);
    assert.equal(toHex(seeded.secretKey), v.inputs.kemPreKey.seed);
    assert.equal(toHex(seeded.publicKey), toHex(expanded.publicKey));
    assert.equal(toHex(seeded.signature), toHex(expanded.signature));
    assert.equal(toHex(encodeKemPreKeyRecord(expanded)), e.kemPreKeyRecordExpanded);
    assert.equal(toHex(encodeKemPreKeyRecord(seeded)), e.kemPreKeyRecordSeed);
    const { cipherText, sharedSecret } = ml_kem1024.encapsulate(
      expanded.publicKey,
      fromHex(fixedBytes('keys/test', 32)),
    );
    for (const { label, provider } of all) {
      assert.equal(toHex(await provider.mlKemDecapsulate(expanded.secretKey, cipherText)), toHex(sharedSecret), label);
      assert.equal(toHex(await provider.mlKemDecapsulate(seeded.secretKey, cipherText)), toHex(sharedSecret), label);
    }
  });

  it('decodes the frozen signed device list and verifies it under the frozen account key', async () => {
    const bytes = frozen(e, 'signedDeviceList');
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 21)), 'Parley/v1/device-list');
    const list = decodeSignedDeviceList(bytes);
    assert.equal(list.version, v.inputs.deviceList.version);
    assert.deepEqual(
      list.devices.map((d) => [d.id, toHex(d.identity)]),
      [
        [v.inputs.deviceList.ids[0], e.deviceIdentityPublic],
        [v.inputs.deviceList.ids[1], e.secondDeviceIdentityPublic],
      ],
    );
    for (const { label, provider } of all) {
      await assert.doesNotReject(verifyDeviceList(provider, frozen(e, 'accountPublicKey'), list), label);
    }
    assert.equal(toHex(encodeSignedDeviceList(list)), e.signedDeviceList);
  });
});
