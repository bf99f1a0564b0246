import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isProtocolError } from '../../src/index.ts';
import {
  DIRECTORY_VALUE_LENGTH,
  decodeDirectoryValue,
  directoryValueHash,
  encodeDirectoryValue,
} from '../../src/kt/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const value = { version: 3, accountKey: new Uint8Array(32).fill(0x11), deviceListHash: new Uint8Array(32).fill(0x22) };

describe('kt directory value', () => {
  it('encodes the docs test vector and hashes it (computed with Python hashlib)', () => {
    const bytes = encodeDirectoryValue(value);
    assert.equal(bytes.length, DIRECTORY_VALUE_LENGTH);
    assert.equal(hex(bytes), `010000000000000003${'11'.repeat(32)}${'22'.repeat(32)}`);
    assert.equal(hex(directoryValueHash(value)), '192cd4b8bbc723d23355c3d2d0deda20322dacb8b42958fbd18eb8024467fb9c');
  });

  it('round-trips and distinguishes every field', () => {
    const back = decodeDirectoryValue(encodeDirectoryValue(value));
    assert.deepEqual(back, value);
    const h = hex(directoryValueHash(value));
    assert.notEqual(hex(directoryValueHash({ ...value, version: 4 })), h);
    assert.notEqual(hex(directoryValueHash({ ...value, accountKey: new Uint8Array(32) })), h);
    assert.notEqual(hex(directoryValueHash({ ...value, deviceListHash: new Uint8Array(32) })), h);
  });

  it('refuses bad inputs to the encoder', () => {
    const bad = (e: unknown) => isProtocolError(e, 'INVALID_ARGUMENT');
    assert.throws(() => encodeDirectoryValue({ ...value, version: 0 }), bad);
    assert.throws(() => encodeDirectoryValue({ ...value, version: 1.5 }), bad);
    assert.throws(() => encodeDirectoryValue({ ...value, version: 2 ** 53 }), bad);
    assert.throws(() => encodeDirectoryValue({ ...value, accountKey: new Uint8Array(31) }), bad);
    assert.throws(() => encodeDirectoryValue({ ...value, deviceListHash: new Uint8Array(33) }), bad);
  });

  it('decodes strictly', () => {
    const good = encodeDirectoryValue(value);
    const malformed = (e: unknown) => isProtocolError(e, 'MALFORMED_MESSAGE');
    assert.throws(() => decodeDirectoryValue(new Uint8Array(0)), malformed);
    assert.throws(() => decodeDirectoryValue(good.subarray(0, 72)), malformed);
    assert.throws(() => decodeDirectoryValue(new Uint8Array([...good, 0])), malformed);
    const zero = good.slice();
    zero.fill(0, 1, 9);
    assert.throws(() => decodeDirectoryValue(zero), malformed);
    const huge = good.slice();
    huge.fill(0xff, 1, 9);
    assert.throws(() => decodeDirectoryValue(huge), malformed);
    const other = good.slice();
    other[0] = 2;
    assert.throws(
      () => decodeDirectoryValue(other),
      (e: unknown) => isProtocolError(e, 'UNKNOWN_VERSION'),
    );
  });
});
