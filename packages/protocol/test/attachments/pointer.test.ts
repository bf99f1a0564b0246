import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type AttachmentPointer,
  attachmentBlobSize,
  decodeAttachmentPointer,
  encodeAttachmentPointer,
  isProtocolError,
  THUMBNAIL_MAX_BYTES,
} from '../../src/index.ts';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const pointer: fc.Arbitrary<AttachmentPointer> = fc
  .record(
    {
      blobId: bytes(16),
      key: bytes(32),
      digest: bytes(32),
      size: fc.integer({ min: 0, max: 2 ** 31 }),
      contentType: fc.constantFrom('image/jpeg', 'application/pdf', 'application/octet-stream', 'audio/ogg'),
      fileName: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => /^[a-z0-9][a-z0-9 _-]*[a-z0-9]$/i.test(s)),
      dims: fc.option(fc.tuple(u32, u32), { nil: undefined }),
      durationMs: fc.option(u32, { nil: undefined }),
      thumbnail: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
    },
    { requiredKeys: ['blobId', 'key', 'digest', 'size', 'contentType', 'fileName'] },
  )
  .map((r) => ({
    version: 1 as const,
    blobId: r.blobId,
    key: r.key,
    digest: r.digest,
    size: r.size,
    blobSize: attachmentBlobSize(r.size),
    contentType: r.contentType,
    fileName: r.fileName,
    ...(r.dims ? { width: r.dims[0], height: r.dims[1] } : {}),
    ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
    ...(r.thumbnail ? { thumbnail: { contentType: 'image/jpeg', data: r.thumbnail } } : {}),
  }));

const base: AttachmentPointer = {
  version: 1,
  blobId: new Uint8Array(16).fill(1),
  key: new Uint8Array(32).fill(2),
  digest: new Uint8Array(32).fill(3),
  size: 5,
  blobSize: attachmentBlobSize(5),
  contentType: 'text/plain',
  fileName: 'a.txt',
};

describe('attachment pointer codec', () => {
  it('round-trips every field (property)', () => {
    fc.assert(
      fc.property(pointer, (p) => {
        assert.deepEqual(decodeAttachmentPointer(encodeAttachmentPointer(p)), p);
      }),
    );
  });

  it('rejects every truncation and any trailing byte (property)', () => {
    fc.assert(
      fc.property(pointer, fc.nat(), (p, cut) => {
        const bytes = encodeAttachmentPointer(p);
        const at = cut % bytes.length;
        assert.throws(
          () => decodeAttachmentPointer(bytes.subarray(0, at)),
          (e) => isProtocolError(e, 'MALFORMED_MESSAGE') || isProtocolError(e, 'UNKNOWN_VERSION'),
        );
        const longer = new Uint8Array(bytes.length + 1);
        longer.set(bytes);
        assert.throws(
          () => decodeAttachmentPointer(longer),
          (e) => isProtocolError(e, 'MALFORMED_MESSAGE'),
        );
      }),
    );
  });

  it('never throws anything but a ProtocolError on random bytes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (junk) => {
        try {
          decodeAttachmentPointer(junk);
        } catch (e) {
          assert.ok(isProtocolError(e));
        }
      }),
    );
  });

  it('rejects an unknown version, unknown flags, a blob size that is not the padded size', () => {
    const bytes = encodeAttachmentPointer(base);
    const v2 = bytes.slice();
    v2[0] = 2;
    assert.throws(
      () => decodeAttachmentPointer(v2),
      (e) => isProtocolError(e, 'UNKNOWN_VERSION'),
    );
    const flags = bytes.slice();
    flags[flags.length - 1] = 8;
    assert.throws(
      () => decodeAttachmentPointer(flags),
      (e) => isProtocolError(e, 'MALFORMED_MESSAGE'),
    );
    const size = bytes.slice();
    size[1 + 16 + 32 + 32 + 7] = (size[1 + 16 + 32 + 32 + 7] as number) + 1;
    assert.throws(
      () => decodeAttachmentPointer(size),
      (e) => isProtocolError(e, 'MALFORMED_MESSAGE'),
    );
    assert.throws(
      () => encodeAttachmentPointer({ ...base, blobSize: 1 }),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
  });

  it('bounds the thumbnail at 64 KiB and the content type to a MIME type', () => {
    const thumb = (n: number) => ({ ...base, thumbnail: { contentType: 'image/webp', data: new Uint8Array(n) } });
    assert.equal(
      decodeAttachmentPointer(encodeAttachmentPointer(thumb(THUMBNAIL_MAX_BYTES))).thumbnail?.data.length,
      THUMBNAIL_MAX_BYTES,
    );
    assert.throws(
      () => encodeAttachmentPointer(thumb(THUMBNAIL_MAX_BYTES + 1)),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => encodeAttachmentPointer({ ...base, contentType: 'text/html; x' }),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => encodeAttachmentPointer({ ...base, contentType: 'Image/PNG' }),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
  });

  it('sanitises the file name on both sides: a hostile encoder cannot smuggle a path', () => {
    const encoded = encodeAttachmentPointer({ ...base, fileName: '../../etc/passwd' });
    assert.equal(decodeAttachmentPointer(encoded).fileName, 'passwd');
    // Hand-build a pointer whose name field holds a raw path, as a modified sender would.
    const name = new TextEncoder().encode('..\\..\\x\u0000.txt');
    const plain = encodeAttachmentPointer({ ...base, fileName: 'a' });
    const at = 1 + 16 + 32 + 32 + 16 + 1 + 'text/plain'.length;
    const hostile = new Uint8Array(plain.length - 1 + name.length);
    hostile.set(plain.subarray(0, at));
    new DataView(hostile.buffer).setUint16(at, name.length);
    hostile.set(name, at + 2);
    hostile.set(plain.subarray(at + 3), at + 2 + name.length);
    assert.equal(decodeAttachmentPointer(hostile).fileName, 'x.txt');
  });
});
