import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError } from '@parley/protocol';
import { ClientError } from '../src/errors.ts';
import { type ClientEvent, createEventHub } from '../src/events.ts';

describe('warning events', () => {
  it('name what failed by code only, never by its message', async () => {
    const hub = createEventHub();
    const events = hub.subscribe();
    hub.warn(
      'PREKEY_REFILL_FAILED',
      new ClientError('SERVER_REFUSED', 'server refused: secret-ish', { relayCode: 'RATE_LIMITED' }),
    );
    hub.warn('OUTBOX_FAILED', new ClientError('TIMEOUT', 'the server did not answer send in time'));
    hub.warn('DELIVERY_NOT_PROCESSED', new Error('plaintext "meet at 6" leaked into a message'));
    hub.warn('SAVE_FAILED', 'not an error at all');
    hub.end();
    const got: ClientEvent[] = [];
    for await (const e of events) got.push(e);
    assert.deepEqual(got, [
      { type: 'warning', code: 'PREKEY_REFILL_FAILED', cause: 'RATE_LIMITED' },
      { type: 'warning', code: 'OUTBOX_FAILED', cause: 'TIMEOUT' },
      { type: 'warning', code: 'DELIVERY_NOT_PROCESSED', cause: 'Error' },
      { type: 'warning', code: 'SAVE_FAILED', cause: 'UNKNOWN' },
    ]);
    assert.ok(!JSON.stringify(got).includes('meet at 6'));
  });

  it('names a protocol error by its code', async () => {
    const hub = createEventHub();
    const events = hub.subscribe();
    hub.warn('DELIVERY_NOT_PROCESSED', new ProtocolError('MALFORMED_MESSAGE', 'bad'));
    hub.end();
    const got: ClientEvent[] = [];
    for await (const e of events) got.push(e);
    assert.deepEqual(got, [{ type: 'warning', code: 'DELIVERY_NOT_PROCESSED', cause: 'MALFORMED_MESSAGE' }]);
  });
});
