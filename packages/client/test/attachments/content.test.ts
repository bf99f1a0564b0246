import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentBlobSize, encodeAttachmentPointer } from '@parley/protocol';
import {
  type AttachmentContent,
  attachmentFallbackText,
  attachmentField,
  decodeAttachmentContent,
  decodeContent,
  encodeContent,
} from '../../src/content.ts';

const pointer = encodeAttachmentPointer({
  version: 1,
  blobId: new Uint8Array(16).fill(7),
  key: new Uint8Array(32).fill(8),
  digest: new Uint8Array(32).fill(9),
  size: 12,
  blobSize: attachmentBlobSize(12),
  contentType: 'application/pdf',
  fileName: 'report.pdf',
});
const content: AttachmentContent = {
  v: 1,
  id: 'msg-00000001',
  ts: 1_700_000_000_000,
  att: attachmentField(pointer),
  text: attachmentFallbackText('report.pdf'),
  caption: 'the report',
};

describe('attachment content', () => {
  it('round-trips through the padded content encoding, pointer decoded', () => {
    const decoded = decodeAttachmentContent(encodeContent(content));
    assert.deepEqual(decoded?.content, content);
    assert.equal(decoded?.pointer.fileName, 'report.pdf');
    assert.equal(decoded?.pointer.size, 12);
  });

  it('is not taken for a text message by this build', () => {
    assert.equal(decodeContent(encodeContent(content)), undefined);
  });

  it('shows a decoder that predates attachments a clear "cannot receive attachments" line', () => {
    // What a pre-attachment decodeContent did: v, id, ts and a string text make a text message.
    const bytes = encodeContent(content);
    const old = JSON.parse(new TextDecoder().decode(bytes.subarray(0, bytes.lastIndexOf(0x80)))) as { text: string };
    assert.match(old.text, /cannot receive attachments; update Parley/);
  });

  it('drops an attachment whose pointer does not decode (later version, junk)', () => {
    const v2 = pointer.slice();
    v2[0] = 2;
    assert.equal(decodeAttachmentContent(encodeContent({ ...content, att: attachmentField(v2) })), undefined);
    assert.equal(decodeAttachmentContent(encodeContent({ ...content, att: '!!' })), undefined);
  });
});
