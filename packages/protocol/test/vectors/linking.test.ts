import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeLinkCode,
  encodeDeviceIdentityPublic,
  isProtocolError,
  openLinkPayload,
  verifyLinkOffer,
} from '../../src/index.ts';
import {
  assertFrozen,
  defaultNodeProvider,
  deviceFrom,
  fromHex,
  frozen,
  readVectors,
  rebuildProviders,
  toHex,
} from './kit.ts';
import { build, type LinkingInputs } from './linking.vectors.ts';

const v = readVectors<LinkingInputs>('linking');
const e = v.expected;
const all = [...rebuildProviders, defaultNodeProvider];

describe('linking vectors', () => {
  for (const { label, provider } of all) {
    it(`rebuilds the frozen code, offer MAC and sealed payload (${label})`, async () => {
      assertFrozen(await build(provider, v.inputs), e);
    });
  }

  it('decodes the frozen link code: channel with its top bit cleared, then the secret', () => {
    const code = decodeLinkCode(frozen(e, 'linkCode'));
    const [channel, secret] = v.inputs.codeDraws.map(fromHex);
    assert.equal(code.channel[0], (channel?.[0] ?? 0) & 0x7f);
    assert.equal(toHex(code.channel.subarray(1)), toHex(channel?.subarray(1) ?? new Uint8Array()));
    assert.equal(toHex(code.secret), toHex(secret ?? new Uint8Array()));
  });

  for (const { label, provider } of all) {
    it(`verifies the frozen offer and opens the frozen sealed payload (${label})`, async () => {
      const code = decodeLinkCode(frozen(e, 'linkCode'));
      const device = await deviceFrom(provider, v.inputs.newDevice);
      const identity = encodeDeviceIdentityPublic(device.publicIdentity);
      assert.equal(toHex(identity), e.newDeviceIdentity);
      await verifyLinkOffer(provider, code, identity, v.inputs.deviceName, frozen(e, 'offerMac'));
      await assert.rejects(
        verifyLinkOffer(provider, code, identity, `${v.inputs.deviceName}!`, frozen(e, 'offerMac')),
        (err: unknown) => isProtocolError(err, 'INVALID_SIGNATURE'),
      );
      const sealed = frozen(e, 'sealedPayload');
      assert.equal(
        toHex(sealed.subarray(0, 32)),
        toHex(await provider.x25519PublicKey(fromHex(v.inputs.sealDraws[0]))),
      );
      assert.equal(toHex(sealed.subarray(32, 44)), v.inputs.sealDraws[1]);
      const payload = await openLinkPayload(provider, code, device, identity, sealed);
      assert.equal(new TextDecoder().decode(payload), v.inputs.payload);
    });
  }
});
