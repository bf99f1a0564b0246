import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeFields, encodeFields, type FieldSpec, isProtocolError } from '../../src/index.ts';

// Found by fuzz/session-record (docs/reliability.md, "Fuzzing"): a session record whose state
// spelled out `sendingIndex = 0` decoded, and re-encoded 2 bytes shorter.
describe('protobuf fields: one encoding per message', () => {
  const schema: readonly FieldSpec[] = [
    { no: 1, name: 'index', kind: 'uint32' },
    { no: 2, name: 'maybe', kind: 'uint32', optional: true },
  ];

  it('rejects a non-optional uint32 written out as 0 (the encoder omits it)', () => {
    assert.deepEqual(encodeFields({ index: 0 }, schema, 'T'), new Uint8Array(0));
    assert.throws(
      () => decodeFields(Uint8Array.of(0x08, 0x00), schema, 'T'),
      (err: unknown) => isProtocolError(err, 'MALFORMED_MESSAGE'),
    );
  });

  it('still takes an optional uint32 of 0, which the encoder writes', () => {
    const bytes = encodeFields({ index: 0, maybe: 0 }, schema, 'T');
    assert.deepEqual(bytes, Uint8Array.of(0x10, 0x00));
    assert.deepEqual(decodeFields(bytes, schema, 'T'), { index: 0, maybe: 0 });
  });
});
