import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEnqueue, encodeEnqueue } from '../../src/store/sqlite-batch-codec.ts';
import type { SendBatchItem } from '../../src/store/storage.ts';

const bytes = (n: number, len: number) => new Uint8Array(len).fill(n);

describe('storage thread batch codec', () => {
  it('round-trips sends and acks; a group message crosses with its body once', () => {
    const group = bytes(7, 1000);
    const items: SendBatchItem[] = [
      {
        sender: 'alice',
        senderDevice: 1,
        messageId: 'direct-0001',
        messages: [
          { account: 'bob', device: 1, kind: 2, body: bytes(1, 10) },
          { account: 'bob', device: 2, kind: 2, body: bytes(2, 20) },
        ],
      },
      {
        sender: 'alice',
        senderDevice: 1,
        messageId: 'group-0001',
        messages: [1, 2, 3].map((device) => ({ account: 'carol', device, kind: 4, body: group })),
        sharedBody: true,
      },
    ];
    const acks = [{ account: 'alice', device: 1, seqs: [4, 5] }];
    const columns = encodeEnqueue(items, acks);
    assert.equal(columns.bodies.byteLength, 10 + 20 + 1000, 'the shared body is packed once, not three times');
    const decoded = decodeEnqueue(columns);
    assert.deepEqual(decoded.acks, acks);
    assert.equal(decoded.items.length, 2);
    assert.equal(decoded.items[0]?.sharedBody, undefined);
    assert.deepEqual(
      decoded.items[0]?.messages.map((m) => [m.account, m.device, m.kind, m.body.length, m.body[0]]),
      [
        ['bob', 1, 2, 10, 1],
        ['bob', 2, 2, 20, 2],
      ],
    );
    assert.equal(decoded.items[1]?.sharedBody, true);
    for (const m of decoded.items[1]?.messages ?? []) assert.deepEqual(m.body, group);
    assert.deepEqual(
      decoded.items[1]?.messages.map((m) => m.device),
      [1, 2, 3],
    );
  });
});
