import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeGroupMeta, decodePrivateKeys, deviceOfCredential, GROUP_META_EXTENSION } from '../../src/groups.ts';
import { build, type GroupsInputs } from './groups.vectors.ts';
import { assertFrozen, defaultNodeProvider, fixedBytes, fromHex, frozen, readVectors, toHex } from './kit.ts';

const v = readVectors<GroupsInputs>('groups');
const e = v.expected;

describe('group encoding vectors', () => {
  it('rebuilds the frozen credential and metadata', async () => {
    assertFrozen(await build(defaultNodeProvider.provider, v.inputs), e);
  });

  it('reads the frozen credential as the device it names', () => {
    const identity = frozen(e, 'credentialIdentity');
    assert.equal(
      new TextDecoder().decode(identity),
      `parley/v1:${v.inputs.credential.account}/${v.inputs.credential.device}`,
    );
    assert.deepEqual(deviceOfCredential({ credentialType: 'basic', identity }), v.inputs.credential);
  });

  it('decodes the frozen metadata extension data (extension type 0xf0a1)', () => {
    assert.equal(GROUP_META_EXTENSION, 0xf0a1);
    assert.deepEqual(decodeGroupMeta(frozen(e, 'groupMeta')), v.inputs.meta);
  });

  it('decodes the frozen KeyPackage private record: version 1 ‖ init key ‖ HPKE key, signing key put back', () => {
    const signing = fromHex(fixedBytes('groups/signing-key', 32));
    const keys = decodePrivateKeys(frozen(e, 'keyPackagePrivateRecord'), signing);
    assert.equal(toHex(keys.initPrivateKey), v.inputs.keyPackagePrivate.initPrivateKey);
    assert.equal(toHex(keys.hpkePrivateKey), v.inputs.keyPackagePrivate.hpkePrivateKey);
    assert.equal(toHex(keys.signaturePrivateKey), toHex(signing));
  });
});
