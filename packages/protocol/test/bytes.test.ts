import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertBytes, concatBytes, constantTimeEqual, isAllZero, isProtocolError, u32be } from '../src/index.ts';

describe('bytes', () => {
  it('concatenates in order', () => {
    assert.deepEqual(
      concatBytes(new Uint8Array([1, 2]), new Uint8Array([]), new Uint8Array([3])),
      new Uint8Array([1, 2, 3]),
    );
  });

  it('compares equal and unequal arrays', () => {
    assert.equal(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])), true);
    assert.equal(constantTimeEqual(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4])), false);
    assert.equal(constantTimeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3])), false);
  });

  it('detects all-zero output', () => {
    assert.equal(isAllZero(new Uint8Array(32)), true);
    const b = new Uint8Array(32);
    b[31] = 1;
    assert.equal(isAllZero(b), false);
  });

  it('names the field in a length error', () => {
    assert.throws(
      () => assertBytes('identityKey', new Uint8Array(31), 32),
      (err: unknown) => isProtocolError(err, 'INVALID_ARGUMENT') && /identityKey of 32 bytes/.test(err.message),
    );
  });

  it('encodes u32 big-endian and rejects out-of-range values', () => {
    assert.deepEqual(u32be(0x01020304), new Uint8Array([1, 2, 3, 4]));
    assert.throws(
      () => u32be(-1),
      (err: unknown) => isProtocolError(err, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => u32be(2 ** 32),
      (err: unknown) => isProtocolError(err, 'INVALID_ARGUMENT'),
    );
  });
});
