import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RELAY_CLOSE_CODES, readRelayErrorDetails } from '../../src/index.ts';

describe('relay refusal details', () => {
  it('reads each documented shape', () => {
    const stale = { devices: [1, 2], missing: [2], extra: [], changed: [1] };
    assert.deepEqual(readRelayErrorDetails('STALE_DEVICES', stale), stale);
    const groupStale = { name: 'bob', devices: [1], missing: [], extra: [3] };
    assert.deepEqual(readRelayErrorDetails('STALE_DEVICES', groupStale), groupStale);
    assert.deepEqual(readRelayErrorDetails('RATE_LIMITED', { retryAfterMs: 250 }), { retryAfterMs: 250 });
    assert.deepEqual(readRelayErrorDetails('QUEUE_FULL', { devices: [3] }), { devices: [3] });
    const members = { members: [{ name: 'bob', devices: [1, 2] }] };
    assert.deepEqual(readRelayErrorDetails('QUEUE_FULL', members), members);
    assert.deepEqual(readRelayErrorDetails('EPOCH_MOVED', { epoch: 7 }), { epoch: 7 });
    assert.deepEqual(readRelayErrorDetails('UNKNOWN_ACCOUNT', { name: 'carol' }), { name: 'carol' });
    assert.deepEqual(readRelayErrorDetails('BAD_FRAME', { keyPackages: 200 }), { keyPackages: 200 });
    const storage = { retryAfterMs: 5000, reason: 'full' };
    assert.deepEqual(readRelayErrorDetails('STORAGE_UNAVAILABLE', storage), storage);
    assert.equal(readRelayErrorDetails('STORAGE_UNAVAILABLE', { retryAfterMs: 5000, reason: 'gone' }), undefined);
  });

  it('drops details that are not the code’s shape (a hostile server may send anything)', () => {
    assert.equal(readRelayErrorDetails('STALE_DEVICES', { devices: [1], missing: 'all', extra: [] }), undefined);
    assert.equal(readRelayErrorDetails('STALE_DEVICES', { devices: [1], missing: [-1], extra: [] }), undefined);
    assert.equal(readRelayErrorDetails('RATE_LIMITED', { retryAfterMs: '5' }), undefined);
    assert.equal(readRelayErrorDetails('RATE_LIMITED', { retryAfterMs: Number.POSITIVE_INFINITY }), undefined);
    assert.equal(readRelayErrorDetails('EPOCH_MOVED', null), undefined);
    assert.equal(readRelayErrorDetails('EPOCH_MOVED', [7]), undefined);
    assert.equal(readRelayErrorDetails('QUEUE_FULL', { members: [{ name: 1, devices: [] }] }), undefined);
  });

  it('gives no details for a code that documents none', () => {
    assert.equal(readRelayErrorDetails('NAME_TAKEN', { retryAfterMs: 5 }), undefined);
    assert.equal(readRelayErrorDetails('INTERNAL', undefined), undefined);
  });

  it('keeps the close codes the relay has always used', () => {
    assert.deepEqual(RELAY_CLOSE_CODES, {
      handshakeTimeout: 4000,
      tooManyAuthFailures: 4001,
      replaced: 4002,
      deviceRemoved: 4003,
      shuttingDown: 1001,
    });
  });
});
