import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAttachmentPointer, openAttachment } from '../../src/index.ts';
import { type AttachmentInputs, build } from './attachments.vectors.ts';
import { assertFrozen, defaultNodeProvider, fromHex, frozen, readVectors, rebuildProviders, toHex } from './kit.ts';

const v = readVectors<AttachmentInputs>('attachments');
const e = v.expected;
const all = [...rebuildProviders, defaultNodeProvider];

describe('attachment vectors', () => {
  for (const { label, provider } of all) {
    it(`rebuilds the frozen blobs, digests, tags and pointer (${label})`, async () => {
      assertFrozen(await build(provider, v.inputs), e);
    });

    it(`opens the frozen short and empty blobs (${label})`, async () => {
      for (const [name, text] of [
        ['short', v.inputs.shortText],
        ['empty', ''],
      ] as const) {
        const blob = frozen(e, `${name}Blob`);
        const size = new TextEncoder().encode(text).length;
        const params = { key: fromHex(v.inputs.key), size, blobSize: blob.length, digest: frozen(e, `${name}Digest`) };
        let out = '';
        for await (const p of openAttachment(
          provider,
          params,
          (async function* () {
            yield blob;
          })(),
        )) {
          out += new TextDecoder().decode(p);
        }
        assert.equal(out, text);
      }
    });
  }

  it('decodes the frozen pointer field by field', () => {
    const p = decodeAttachmentPointer(frozen(e, 'pointer'));
    assert.equal(toHex(p.blobId), v.inputs.blobId);
    assert.equal(toHex(p.key), v.inputs.key);
    assert.equal(toHex(p.digest), e.longDigest);
    assert.equal(p.size, v.inputs.longSize);
    assert.equal(String(p.blobSize), e.longBlobSize);
    assert.deepEqual(
      [p.contentType, p.fileName, p.width, p.height, p.durationMs],
      ['image/jpeg', 'holiday photo.jpg', 4032, 3024, 1500],
    );
    assert.equal(p.thumbnail?.contentType, 'image/webp');
    assert.equal(toHex(p.thumbnail?.data ?? new Uint8Array(0)), v.inputs.thumbnail);
  });
});
