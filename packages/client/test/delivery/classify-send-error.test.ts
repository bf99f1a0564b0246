import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RelayErrorCode } from '@parley/protocol';
import { classifySendError } from '../../src/delivery/classify-send-error.ts';
import { ClientError } from '../../src/errors.ts';

const refused = (extra: { relayCode: RelayErrorCode; details?: unknown }) =>
  new ClientError('SERVER_REFUSED', 'server refused', extra);

describe('classifySendError', () => {
  it('waits for the connection when the server cannot be reached or the client closed', () => {
    assert.deepEqual(classifySendError(new ClientError('SERVER_UNREACHABLE', 'x')), { kind: 'offline' });
    assert.deepEqual(classifySendError(new ClientError('CLOSED', 'x')), { kind: 'offline' });
  });

  it('retries a request that timed out on a live connection, with the runner’s backoff', () => {
    assert.deepEqual(classifySendError(new ClientError('TIMEOUT', 'x')), { kind: 'retry-after', ms: undefined });
  });

  it('retries a rate-limited send after the server’s hint', () => {
    const err = refused({ relayCode: 'RATE_LIMITED', details: { retryAfterMs: 1234 } });
    assert.deepEqual(classifySendError(err), { kind: 'retry-after', ms: 1234 });
  });

  it('keeps a send the server could not store (full disk) and retries it after the server’s hint', () => {
    const err = refused({ relayCode: 'STORAGE_UNAVAILABLE', details: { retryAfterMs: 5000, reason: 'full' } });
    assert.deepEqual(classifySendError(err), { kind: 'retry-after', ms: 5000, tell: true });
  });

  it('retries a rate-limited send without a hint with the runner’s backoff', () => {
    assert.deepEqual(classifySendError(refused({ relayCode: 'RATE_LIMITED' })), { kind: 'retry-after', ms: undefined });
  });

  it('delays a send that met a full queue (kept, retried, said at once), retries one refused while the server shuts down', () => {
    const full = refused({ relayCode: 'QUEUE_FULL', details: { devices: [1], reason: 'sender-share' } });
    assert.deepEqual(classifySendError(full), { kind: 'delayed' });
    assert.deepEqual(classifySendError(refused({ relayCode: 'SHUTTING_DOWN' })), {
      kind: 'retry-after',
      ms: undefined,
    });
  });

  it('blocks on a contact’s changed key until the user accepts it', () => {
    assert.deepEqual(classifySendError(new ClientError('UNTRUSTED_IDENTITY', 'x')), { kind: 'blocked' });
  });

  it('gives up on every other refusal and on errors that are not the client’s', () => {
    for (const relayCode of ['UNKNOWN_ACCOUNT', 'NOT_A_MEMBER', 'MESSAGE_TOO_LARGE', 'STALE_DEVICES'] as const) {
      assert.deepEqual(classifySendError(refused({ relayCode })), { kind: 'fatal' }, relayCode);
    }
    assert.deepEqual(classifySendError(new ClientError('NO_PREKEYS', 'x')), { kind: 'fatal' });
    assert.deepEqual(classifySendError(new Error('boom')), { kind: 'fatal' });
    assert.deepEqual(classifySendError(undefined), { kind: 'fatal' });
  });
});
