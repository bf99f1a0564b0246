import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { type CryptoProvider, createWebCryptoProvider, isProtocolError } from '../../src/index.ts';
import {
  decodeSignedTreeHead,
  decodeTreeHead,
  encodeSignedTreeHead,
  encodeTreeHead,
  SIGNED_TREE_HEAD_LENGTH,
  signTreeHead,
  TREE_HEAD_BODY_LENGTH,
  type TreeHead,
  treeHeadHash,
  verifyTreeHead,
} from '../../src/kt/index.ts';
import { createNodeCryptoProvider } from '../../src/node.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fill = (byte: number) => new Uint8Array(32).fill(byte);
const head: TreeHead = {
  epoch: 7,
  mapRoot: fill(0xaa),
  logSize: 7,
  logRoot: fill(0xbb),
  timeMs: 1_700_000_000_000,
  previousHeadHash: fill(0xcc),
};
const malformed = (e: unknown) => isProtocolError(e, 'MALFORMED_MESSAGE');

describe('kt tree heads', () => {
  it('encodes the documented body (docs/protocol.md test vector)', () => {
    const body = encodeTreeHead(head);
    assert.equal(body.length, TREE_HEAD_BODY_LENGTH);
    assert.equal(
      hex(body),
      `01${'0000000000000007'}${'aa'.repeat(32)}${'0000000000000007'}${'bb'.repeat(32)}${'0000018bcfe56800'}${'cc'.repeat(32)}`,
    );
    assert.equal(hex(treeHeadHash(head)), hex(new Uint8Array(createHash('sha256').update(body).digest())));
    assert.deepEqual(decodeTreeHead(body), head);
  });

  it('decodes strictly', () => {
    const body = encodeTreeHead(head);
    for (let n = 1; n < body.length; n++) assert.throws(() => decodeTreeHead(body.subarray(0, n)), malformed);
    assert.throws(() => decodeTreeHead(new Uint8Array(0)), malformed);
    assert.throws(() => decodeTreeHead(new Uint8Array([...body, 0])), malformed);
    const v = body.slice();
    v[0] = 2;
    assert.throws(
      () => decodeTreeHead(v),
      (e) => isProtocolError(e, 'UNKNOWN_VERSION'),
    );
    const big = body.slice();
    big[1] = 0x00;
    big[2] = 0x20; // epoch 2^53
    assert.throws(() => decodeTreeHead(big), malformed);
    assert.throws(
      () => encodeTreeHead({ ...head, epoch: -1 }),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => encodeTreeHead({ ...head, mapRoot: fill(1).subarray(1) }),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
  });

  for (const crypto of [createNodeCryptoProvider(), createWebCryptoProvider()] as CryptoProvider[]) {
    it(`signs and verifies with the ${crypto.name} provider, and refuses any change`, async () => {
      const seed = fill(0x42);
      const key = await crypto.ed25519PublicKey(seed);
      const signed = await signTreeHead(crypto, seed, head);
      await verifyTreeHead(crypto, key, signed);
      const bytes = encodeSignedTreeHead(signed);
      assert.equal(bytes.length, SIGNED_TREE_HEAD_LENGTH);
      const back = decodeSignedTreeHead(bytes);
      await verifyTreeHead(crypto, key, back);
      // Every byte of body and signature matters.
      for (let i = 1; i < bytes.length; i += 7) {
        const bad = bytes.slice();
        bad[i] = (bad[i] as number) ^ 0x01;
        let decoded: ReturnType<typeof decodeSignedTreeHead>;
        try {
          decoded = decodeSignedTreeHead(bad);
        } catch (e) {
          assert.ok(malformed(e));
          continue;
        }
        await assert.rejects(verifyTreeHead(crypto, key, decoded), (e) => isProtocolError(e, 'INVALID_SIGNATURE'));
      }
      await assert.rejects(verifyTreeHead(crypto, await crypto.ed25519PublicKey(fill(0x43)), signed), (e) =>
        isProtocolError(e, 'INVALID_SIGNATURE'),
      );
      // The signature is over the labelled body, not the bare body.
      const bare = await crypto.ed25519Sign(seed, encodeTreeHead(head));
      await assert.rejects(verifyTreeHead(crypto, key, { head, signature: bare }), (e) =>
        isProtocolError(e, 'INVALID_SIGNATURE'),
      );
      assert.throws(() => decodeSignedTreeHead(bytes.subarray(0, bytes.length - 1)), malformed);
    });
  }
});
