import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fromBase64Url, isProtocolError, portableBase64Url, toBase64Url } from '@parley/protocol';
import fc from 'fast-check';

describe('base64url', () => {
  it('round-trips any bytes, and the native and portable codecs agree', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = toBase64Url(bytes);
        assert.equal(portableBase64Url.encode(bytes), text);
        assert.deepEqual(fromBase64Url('x', text), bytes);
        assert.deepEqual(portableBase64Url.decode(text), bytes);
      }),
    );
  });

  it('refuses padding, the standard alphabet, impossible lengths and non-canonical last characters', () => {
    for (const bad of ['AA==', 'a+b/', 'A', 'AAAAA', 'AB', 'AAB', ' AA', 42, undefined]) {
      assert.throws(
        () => fromBase64Url('field', bad),
        (e) => isProtocolError(e, 'MALFORMED_MESSAGE') && /field/.test(e.message),
        String(bad),
      );
    }
    assert.deepEqual(fromBase64Url('x', 'AA'), new Uint8Array([0]));
    assert.deepEqual(fromBase64Url('x', 'AAE'), new Uint8Array([0, 1]));
  });
});
