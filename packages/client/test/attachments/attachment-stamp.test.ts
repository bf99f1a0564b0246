/**
 * An attachment message is content like any other: the direct outbox stamps it with the sender's
 * device-list version and hash (docs/protocol.md §10, "Never go back"), and the receiver still
 * decodes it as an attachment and reads the stamp.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attachmentBlobSize, encodeAttachmentPointer } from '@parley/protocol';
import {
  type AttachmentContent,
  attachmentFallbackText,
  attachmentField,
  decodeAttachmentContent,
  decodeListStamp,
} from '../../src/content.ts';
import { createDirectOutbox, type DirectOutboxDeps } from '../../src/direct/outbox.ts';
import { createEventHub } from '../../src/events.ts';

const HASH = 'q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80';

const content: AttachmentContent = {
  v: 1,
  id: 'msg-00000001',
  ts: 1_700_000_000_000,
  att: attachmentField(
    encodeAttachmentPointer({
      version: 1,
      blobId: new Uint8Array(16).fill(7),
      key: new Uint8Array(32).fill(8),
      digest: new Uint8Array(32).fill(9),
      size: 12,
      blobSize: attachmentBlobSize(12),
      contentType: 'application/pdf',
      fileName: 'report.pdf',
    }),
  ),
  text: attachmentFallbackText('report.pdf'),
};

describe('attachment messages and the device-list stamp', () => {
  it('queues an attachment with the dlv/dlh stamp, still decodable as an attachment', () => {
    const queued: Uint8Array[] = [];
    const store = { queueOutbox: (...a: unknown[]) => queued.push(a[3] as Uint8Array) };
    const outbox = createDirectOutbox({
      store: store as unknown as DirectOutboxDeps['store'],
      directory: { ownStamp: () => ({ dlv: 4, dlh: HASH }) } as unknown as DirectOutboxDeps['directory'],
      events: createEventHub(),
      encryptFor: (() => {
        throw new Error('not sent in this test');
      }) as unknown as DirectOutboxDeps['encryptFor'],
      clock: () => 1,
      newId: () => 'env-00000001',
      me: () => 'alice',
      link: () => undefined,
    });
    outbox.queue(content, 'bob', null);
    assert.equal(queued.length, 1);
    const plaintext = queued[0] as Uint8Array;
    assert.deepEqual(decodeListStamp(plaintext), { version: 4, hash: HASH });
    assert.equal(decodeAttachmentContent(plaintext)?.pointer.fileName, 'report.pdf');
  });
});
