import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closeReasonHint, DEFAULT_MAX_BACKOFF_MS, MAX_HINT_MS, reconnectDelay } from '../../src/relay/backoff.ts';

/** A seeded generator in [0, 1) (mulberry32), so the simulation below is the same every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * When, after the server is back at `outageMs`, each of `clients` links that lost it at 0 makes
 * its first attempt (attempts while it is down fail at once). Milliseconds after its return.
 */
function comeback(clients: number, outageMs: number, delay: (attempt: number, r: number) => number): number[] {
  const random = seeded(24);
  const back: number[] = [];
  for (let c = 0; c < clients; c++) {
    let t = 0;
    for (let attempt = 0; t < outageMs; attempt++) t += delay(attempt, random());
    back.push(t - outageMs);
  }
  return back;
}

describe('reconnect backoff', () => {
  it('brings every client of a 10 s outage back within the cap of the server’s return', () => {
    // Issue 24: with full jitter up to 30 s the last of 20 clients came back 25.9 s after the server.
    const back = comeback(1000, 10_000, (a, r) => reconnectDelay(a, r, DEFAULT_MAX_BACKOFF_MS));
    assert.ok(Math.max(...back) <= DEFAULT_MAX_BACKOFF_MS, `last back after ${Math.max(...back)} ms`);
  });

  it('never waits less than half the ceiling (no burst of immediate retries) nor more than the cap', () => {
    for (let attempt = 0; attempt < 40; attempt++) {
      for (const r of [0, 0.5, 0.999]) {
        const d = reconnectDelay(attempt, r, DEFAULT_MAX_BACKOFF_MS);
        const ceiling = Math.min(DEFAULT_MAX_BACKOFF_MS, 250 * 2 ** attempt);
        assert.ok(d >= ceiling / 2 && d <= ceiling, `attempt ${attempt}: ${d}`);
      }
    }
  });

  it('waits at least the server’s hint, and at most a bounded one', () => {
    assert.equal(reconnectDelay(0, 0, DEFAULT_MAX_BACKOFF_MS, 8000), 8000);
    assert.equal(reconnectDelay(0, 0.5, DEFAULT_MAX_BACKOFF_MS, 8000), 10_000);
    assert.equal(reconnectDelay(0, 0, DEFAULT_MAX_BACKOFF_MS, 1e12), MAX_HINT_MS);
    // A hint that is not a positive number is no hint.
    assert.ok(reconnectDelay(0, 0, DEFAULT_MAX_BACKOFF_MS, Number.NaN) < 1000);
    assert.ok(reconnectDelay(0, 0, DEFAULT_MAX_BACKOFF_MS, -5) < 1000);
  });

  it('reads the hint of a close reason', () => {
    assert.equal(closeReasonHint('retry-after-ms=2500'), 2500);
    assert.equal(closeReasonHint('overloaded; retry-after-ms=40'), 40);
    assert.equal(closeReasonHint('retry-after-ms=abc'), undefined);
    assert.equal(closeReasonHint(undefined), undefined);
  });
});
