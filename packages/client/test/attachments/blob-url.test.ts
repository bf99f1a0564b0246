/**
 * The blob API is plain HTTP(S) on the relay's address: a home whose server is stored as
 * `ws://` or `wss://` (accepted since the TLS work of issue 19) still uploads and downloads over
 * `http://` or `https://`, the TLS choice kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { blobUrl } from '../../src/attachments/transfer.ts';

describe('blob URLs', () => {
  it('keeps http(s) server addresses, without a doubled slash', () => {
    assert.equal(blobUrl('https://relay.example/', 'abc'), 'https://relay.example/v1/blobs/abc');
    assert.equal(blobUrl('http://127.0.0.1:8080', 'abc'), 'http://127.0.0.1:8080/v1/blobs/abc');
  });

  it('maps ws:// to http:// and wss:// to https://', () => {
    assert.equal(blobUrl('wss://relay.example', 'abc'), 'https://relay.example/v1/blobs/abc');
    assert.equal(blobUrl('ws://127.0.0.1:8080/', 'abc'), 'http://127.0.0.1:8080/v1/blobs/abc');
    assert.equal(blobUrl('WSS://relay.example', 'abc'), 'https://relay.example/v1/blobs/abc');
  });
});
