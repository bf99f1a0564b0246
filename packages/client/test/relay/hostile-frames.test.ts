import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openRelayLink, type RelayLink } from '../../src/relay/relay-link.ts';

/** A relay link on a stand-in socket; returns the socket's message listener (found by fuzz/relay-server-frame). */
function linkOnStandInSocket(): { deliver(data: string): void; close(): void } {
  let listener: ((e: { data: unknown }) => void) | undefined;
  let link: RelayLink | undefined;
  openRelayLink({
    url: 'http://127.0.0.1:1',
    handshake: () => new Promise(() => {}),
    onFrame: () => {},
    onState: () => {},
    onLink: (l) => {
      link = l;
    },
    connectTimeoutMs: 60_000,
    openWebSocket: () => ({
      readyState: 1,
      send: () => {},
      close: () => {},
      addEventListener: (type: string, l: unknown) => {
        if (type === 'message') listener = l as (e: { data: unknown }) => void;
      },
    }),
  }).catch(() => {});
  return { deliver: (data) => listener?.({ data }), close: () => link?.close() };
}

describe('the relay link reading hostile server frames', () => {
  it('ignores JSON texts that are not frame objects (null, numbers, strings, arrays) instead of throwing', () => {
    const socket = linkOnStandInSocket();
    try {
      for (const text of ['null', '0', '"deliver"', '[]', 'true', '[null]']) {
        assert.doesNotThrow(() => socket.deliver(text), text);
      }
    } finally {
      socket.close();
    }
  });
});
