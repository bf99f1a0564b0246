import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import { decodeFields, encodeFields, type FieldSpec } from '../../src/index.ts';

const SCHEMA: readonly FieldSpec[] = [
  { no: 1, name: 'a', kind: 'bytes', length: [0, 300] },
  { no: 2, name: 'n', kind: 'uint32' },
  { no: 3, name: 'o', kind: 'uint32', optional: true },
  { no: 4, name: 'f', kind: 'bool' },
  { no: 20, name: 'z', kind: 'bytes', length: [0, 40], optional: true },
];

describe('strict protobuf layer', () => {
  it('encodes byte for byte like the reference @bufbuild/protobuf BinaryWriter, and decodes back', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
        fc.boolean(),
        fc.option(fc.uint8Array({ maxLength: 40 }), { nil: undefined }),
        (a, n, o, f, z) => {
          const w = new BinaryWriter().tag(1, 2).bytes(a);
          if (n !== 0) w.tag(2, 0).uint32(n);
          if (o !== undefined) w.tag(3, 0).uint32(o);
          if (f) w.tag(4, 0).uint32(1);
          if (z !== undefined) w.tag(20, 2).bytes(z);
          const ours = encodeFields({ a, n, o, f, z }, SCHEMA, 'T');
          assert.deepEqual(ours, w.finish());
          const d = decodeFields(ours, SCHEMA, 'T');
          assert.deepEqual([d.a, d.n, d.o, d.f, d.z], [a, n, o, f, z]);
        },
      ),
    );
  });
});
