import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeAccountIdentityRecord,
  decodeDeviceIdentityRecord,
  decodeInitialMessage,
  decodeKemPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodePreKeyBundle,
  decodeRatchetMessage,
  decodeSessionRecord,
  decodeSignedPreKeyRecord,
  encodeInitialMessage,
  encodePreKeyBundle,
  encodeRatchetHeader,
  encodeRatchetMessage,
  isProtocolError,
  MAX_CIPHERTEXT_LENGTH,
} from '../../src/index.ts';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const u32 = fc.integer({ min: 0, max: 0xffffffff });

const header = fc.record({ ratchetKey: bytes(32), counter: u32, previousCounter: u32 });
const ratchet = fc.record({ header, ciphertext: fc.uint8Array({ minLength: 16, maxLength: 300 }) });
const ratchetBytes = ratchet.map((m) =>
  encodeRatchetMessage({ headerBytes: encodeRatchetHeader(m.header), ciphertext: m.ciphertext }),
);
const initial = fc.record({
  senderIdentity: bytes(128),
  recipientSigningKey: bytes(32),
  signedPreKeyId: u32,
  oneTimePreKeyId: fc.option(u32, { nil: undefined }),
  kemPreKeyId: u32,
  baseKey: bytes(32),
  kemCiphertext: bytes(1568),
  message: ratchetBytes,
});
const bundle = fc.record({
  identity: bytes(128),
  signedPreKey: fc.record({ id: u32, publicKey: bytes(32), signature: bytes(64), createdAt: u32 }),
  oneTimePreKey: fc.option(fc.record({ id: u32, publicKey: bytes(32) }), { nil: undefined }),
  kemPreKey: fc.option(
    fc.record({ id: u32, publicKey: bytes(1568), signature: bytes(64), lastResort: fc.boolean(), createdAt: u32 }),
    { nil: undefined },
  ),
});

const decoders: Record<string, (b: Uint8Array) => unknown> = {
  decodeRatchetMessage,
  decodeInitialMessage,
  decodePreKeyBundle,
  decodeSessionRecord,
  decodeAccountIdentityRecord,
  decodeDeviceIdentityRecord,
  decodeSignedPreKeyRecord,
  decodeOneTimePreKeyRecord,
  decodeKemPreKeyRecord,
};

function onlyProtocolErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(isProtocolError(err), `non-protocol error: ${String(err)}`);
  }
}

function mutations(valid: Uint8Array, cut: number, flip: number): Uint8Array[] {
  const flipped = valid.slice();
  const i = flip % valid.length;
  flipped[i] = (flipped[i] as number) ^ (1 << (flip % 8));
  return [valid.subarray(0, cut % valid.length), new Uint8Array([...valid, cut & 0xff]), flipped];
}

describe('wire codecs', () => {
  it('round-trip ratchet messages and re-encode to identical bytes', () => {
    fc.assert(
      fc.property(ratchet, (m) => {
        const headerBytes = encodeRatchetHeader(m.header);
        const wire = encodeRatchetMessage({ headerBytes, ciphertext: m.ciphertext });
        const d = decodeRatchetMessage(wire);
        assert.deepEqual(d.header, structuredClone(m.header));
        assert.deepEqual(d.ciphertext, m.ciphertext);
        assert.deepEqual(encodeRatchetMessage(d), wire);
      }),
    );
  });

  it('round-trip initial messages', () => {
    fc.assert(
      fc.property(initial, (m) => {
        const wire = encodeInitialMessage(m);
        const d = decodeInitialMessage(wire);
        assert.deepEqual(d, structuredClone(m));
        assert.deepEqual(encodeInitialMessage(d), wire);
      }),
      { numRuns: 50 },
    );
  });

  it('round-trip prekey bundles, with and without optional parts', () => {
    fc.assert(
      fc.property(bundle, (b) => {
        const wire = encodePreKeyBundle(b);
        const d = decodePreKeyBundle(wire);
        assert.deepEqual(d, structuredClone(b));
        assert.deepEqual(encodePreKeyBundle(d), wire);
      }),
      { numRuns: 50 },
    );
  });

  it('never throw anything but ProtocolError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom(1, 2, 3), (raw, type) => {
        const framed = new Uint8Array([1, type, ...raw]);
        for (const decode of Object.values(decoders)) {
          onlyProtocolErrors(() => decode(raw));
          onlyProtocolErrors(() => decode(framed));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('reject or canonically re-encode truncated, extended and bit-flipped messages', () => {
    fc.assert(
      fc.property(ratchetBytes, initial, bundle, u32, u32, (r, i, b, cut, flip) => {
        const cases: [Uint8Array, (x: Uint8Array) => unknown, (x: never) => Uint8Array][] = [
          [r, decodeRatchetMessage, (x: never) => encodeRatchetMessage(x)],
          [encodeInitialMessage(i), decodeInitialMessage, (x: never) => encodeInitialMessage(x)],
          [encodePreKeyBundle(b), decodePreKeyBundle, (x: never) => encodePreKeyBundle(x)],
        ];
        for (const [valid, decode, encode] of cases) {
          for (const m of mutations(valid, cut, flip)) {
            try {
              const d = decode(m);
              assert.deepEqual(encode(d as never), m, 'accepted bytes must be the canonical encoding');
            } catch (err) {
              assert.ok(isProtocolError(err), String(err));
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('reports the precise code for envelope and field errors', () => {
    const good = encodeRatchetMessage({
      headerBytes: encodeRatchetHeader({ ratchetKey: new Uint8Array(32), counter: 1, previousCounter: 0 }),
      ciphertext: new Uint8Array(16),
    });
    const code = (b: Uint8Array) => {
      try {
        decodeRatchetMessage(b);
        return 'ok';
      } catch (err) {
        return isProtocolError(err) ? err.code : 'other';
      }
    };
    assert.equal(code(good), 'ok');
    assert.equal(code(new Uint8Array([9, ...good.subarray(1)])), 'UNKNOWN_VERSION');
    assert.equal(code(new Uint8Array([1, 7, ...good.subarray(2)])), 'MALFORMED_MESSAGE');
    assert.equal(code(new Uint8Array([...good, 0x18, 0x01])), 'MALFORMED_MESSAGE'); // unknown field 3
    assert.equal(code(new Uint8Array([...good, 0x12, 0x00])), 'MALFORMED_MESSAGE'); // field 2 again
    const huge = new Uint8Array(MAX_CIPHERTEXT_LENGTH + 1);
    assert.throws(
      () =>
        encodeRatchetMessage({
          headerBytes: encodeRatchetHeader({ ratchetKey: new Uint8Array(32), counter: 0, previousCounter: 0 }),
          ciphertext: huge,
        }),
      (e: unknown) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
    // Non-minimal varint for the counter: 0x81 0x00 instead of 0x01.
    const h = encodeRatchetHeader({ ratchetKey: new Uint8Array(32), counter: 1, previousCounter: 0 });
    const nonMinimal = new Uint8Array([...h.subarray(0, h.length - 1), 0x81, 0x00]);
    const body = new Uint8Array([1, 1, 0x0a, nonMinimal.length, ...nonMinimal, 0x12, 16, ...new Uint8Array(16)]);
    assert.equal(code(body), 'MALFORMED_MESSAGE');
  });
});
