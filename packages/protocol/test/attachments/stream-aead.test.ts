import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ATTACHMENT_CHUNK_SIZE,
  ATTACHMENT_HEADER_LENGTH,
  type AttachmentSecrets,
  attachmentBlobSize,
  attachmentCiphertextLength,
  createWebCryptoProvider,
  isProtocolError,
  openAttachment,
  sealAttachment,
} from '../../src/index.ts';
import { createNodeRandom } from '../../src/node.ts';
import { collect, crypto, pattern, piecesOf } from './helpers.ts';

const random = createNodeRandom();
const secrets = (): AttachmentSecrets => ({ key: random(32), noncePrefix: random(7) });
const CHUNK = ATTACHMENT_CHUNK_SIZE + 16;

async function seal(plain: Uint8Array, s = secrets(), piece?: number) {
  const sealed = sealAttachment(crypto, s, plain.length, piecesOf(plain, piece));
  const blob = await collect(sealed.pieces);
  return { blob, digest: sealed.digest(), key: s.key, size: plain.length, blobSize: sealed.blobSize };
}

type Sealed = Awaited<ReturnType<typeof seal>>;

async function open(s: Sealed, blob: Uint8Array, piece?: number): Promise<Uint8Array> {
  return collect(openAttachment(crypto, s, piecesOf(blob, piece)));
}

async function rejectsCorrupt(s: Sealed, blob: Uint8Array): Promise<void> {
  await assert.rejects(open(s, blob), (err) => isProtocolError(err, 'ATTACHMENT_CORRUPT'));
}

/** Opens and records what was yielded before a failure: nothing may be the final chunk. */
async function yieldedBeforeFailure(s: Sealed, blob: Uint8Array): Promise<number> {
  let yielded = 0;
  try {
    for await (const p of openAttachment(crypto, s, piecesOf(blob))) yielded += p.length;
  } catch (err) {
    assert.ok(isProtocolError(err, 'ATTACHMENT_CORRUPT'));
    return yielded;
  }
  assert.fail('expected ATTACHMENT_CORRUPT');
}

describe('attachment streaming AEAD (STREAM over AES-256-GCM)', () => {
  it('round-trips sizes around the chunk boundaries, whatever the piece sizes', async () => {
    for (const size of [
      0,
      1,
      15,
      ATTACHMENT_CHUNK_SIZE - 1,
      ATTACHMENT_CHUNK_SIZE,
      ATTACHMENT_CHUNK_SIZE + 1,
      3 * ATTACHMENT_CHUNK_SIZE + 7,
    ]) {
      const plain = pattern(size, size + 1);
      const s = await seal(plain, secrets(), 7_777);
      assert.equal(s.blob.length, attachmentBlobSize(size));
      assert.equal(s.blob.length, s.blobSize);
      assert.deepEqual(await open(s, s.blob, 100_003), plain, `size ${size}`);
    }
  });

  it('works the same under the WebCrypto provider (incremental digest from @noble/hashes)', async () => {
    const web = createWebCryptoProvider();
    const plain = pattern(2 * ATTACHMENT_CHUNK_SIZE + 5);
    const s = secrets();
    const a = sealAttachment(web, s, plain.length, piecesOf(plain));
    const blob = await collect(a.pieces);
    const b = await seal(plain, s);
    assert.deepEqual(blob, b.blob);
    assert.deepEqual(a.digest(), b.digest);
    assert.deepEqual(await collect(openAttachment(web, b, piecesOf(blob))), plain);
  });

  it('is deterministic for the same key and prefix (what lets an upload resume)', async () => {
    const plain = pattern(100_000);
    const s = secrets();
    assert.deepEqual((await seal(plain, s)).blob, (await seal(plain, s, 333)).blob);
  });

  it('encrypts a zero-byte file as one empty last chunk, padded', async () => {
    const s = await seal(new Uint8Array(0));
    assert.equal(attachmentCiphertextLength(0), ATTACHMENT_HEADER_LENGTH + 16);
    assert.deepEqual(await open(s, s.blob), new Uint8Array(0));
  });

  it('pads the blob with zeros to the Padmé size, so sizes in one bucket look alike', async () => {
    const a = await seal(pattern(1_000_000));
    const b = await seal(pattern(1_000_100));
    assert.equal(a.blob.length, b.blob.length);
    assert.ok(a.blob.subarray(attachmentCiphertextLength(1_000_000)).every((x) => x === 0));
  });

  it('rejects the source when it is longer or shorter than the declared size', async () => {
    const plain = pattern(1000);
    const longer = sealAttachment(crypto, secrets(), 999, piecesOf(plain));
    await assert.rejects(collect(longer.pieces), (e) => isProtocolError(e, 'INVALID_ARGUMENT'));
    const shorter = sealAttachment(crypto, secrets(), 1001, piecesOf(plain));
    await assert.rejects(collect(shorter.pieces), (e) => isProtocolError(e, 'INVALID_ARGUMENT'));
  });

  it('refuses to give the digest before the blob has been read', () => {
    const sealed = sealAttachment(crypto, secrets(), 0, piecesOf(new Uint8Array(0)));
    assert.throws(
      () => sealed.digest(),
      (e) => isProtocolError(e, 'INTERNAL'),
    );
  });

  describe('tampering is detected while streaming (ATTACHMENT_CORRUPT), the last chunk never yielded', () => {
    const size = 3 * ATTACHMENT_CHUNK_SIZE + 1234;

    it('any flipped byte anywhere in the blob (property)', async () => {
      const s = await seal(pattern(size));
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: s.blob.length - 1 }),
          fc.integer({ min: 1, max: 255 }),
          async (at, x) => {
            const bad = s.blob.slice();
            bad[at] = (bad[at] as number) ^ x;
            assert.ok((await yieldedBeforeFailure(s, bad)) < size - 1234 + 1);
          },
        ),
        { numRuns: 60 },
      );
    });

    it('truncation at any length, including at a chunk boundary (property)', async () => {
      const s = await seal(pattern(size));
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: s.blob.length - 1 }), async (length) => {
          await rejectsCorrupt(s, s.blob.subarray(0, length));
        }),
        { numRuns: 60 },
      );
      const boundary = ATTACHMENT_HEADER_LENGTH + 3 * CHUNK;
      await rejectsCorrupt(s, s.blob.subarray(0, boundary));
    });

    it('a blob cut after a full chunk and re-padded to the same size (the last flag)', async () => {
      // Keep chunks 0..2 (none flagged last) and fill with zeros: the lengths still match.
      const s = await seal(pattern(size));
      const bad = new Uint8Array(s.blob.length);
      bad.set(s.blob.subarray(0, ATTACHMENT_HEADER_LENGTH + 3 * CHUNK));
      await rejectsCorrupt(s, bad);
    });

    it('appended data (property)', async () => {
      const s = await seal(pattern(size));
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 200 }), async (extra) => {
          const bad = new Uint8Array(s.blob.length + extra.length);
          bad.set(s.blob);
          bad.set(extra, s.blob.length);
          await rejectsCorrupt(s, bad);
        }),
        { numRuns: 30 },
      );
    });

    it('two chunks swapped (reordering, property)', async () => {
      const s = await seal(pattern(size));
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 }), async (i, j) => {
          fc.pre(i !== j);
          const bad = s.blob.slice();
          const at = (k: number) => ATTACHMENT_HEADER_LENGTH + k * CHUNK;
          bad.set(s.blob.subarray(at(i), at(i) + CHUNK), at(j));
          bad.set(s.blob.subarray(at(j), at(j) + CHUNK), at(i));
          await rejectsCorrupt(s, bad);
        }),
      );
    });

    it('a chunk from another file under another key, or the same key with another prefix', async () => {
      const s = await seal(pattern(size));
      const other = await seal(pattern(size, 9));
      const samePrefix = await seal(pattern(size, 9), { key: random(32), noncePrefix: s.blob.slice(1, 8) });
      const sameKey = await seal(pattern(size, 9), { key: s.key, noncePrefix: random(7) });
      for (const source of [other, samePrefix, sameKey]) {
        const bad = s.blob.slice();
        const at = ATTACHMENT_HEADER_LENGTH + CHUNK;
        bad.set(source.blob.subarray(at, at + CHUNK), at);
        await rejectsCorrupt(s, bad);
      }
    });

    it('non-zero padding, even when the digest is recomputed to match', async () => {
      const s = await seal(pattern(size));
      const bad = s.blob.slice();
      bad[bad.length - 1] = 1;
      const digest = new Uint8Array(await crypto.sha256(bad));
      await assert.rejects(open({ ...s, digest }, bad), (e) => isProtocolError(e, 'ATTACHMENT_CORRUPT'));
    });

    it('a wrong digest in the pointer', async () => {
      const s = await seal(pattern(size));
      const digest = s.digest.slice();
      digest[0] = (digest[0] as number) ^ 1;
      assert.equal(await yieldedBeforeFailure({ ...s, digest }, s.blob), 3 * ATTACHMENT_CHUNK_SIZE);
    });

    it('a wrong key, a wrong real size, a blob size that is not its padded size', async () => {
      const s = await seal(pattern(size));
      await rejectsCorrupt({ ...s, key: random(32) }, s.blob);
      await rejectsCorrupt({ ...s, size: size - 1, blobSize: attachmentBlobSize(size - 1) }, s.blob);
      await rejectsCorrupt({ ...s, blobSize: s.blobSize + 1 }, s.blob);
    });

    it('an unknown header version', async () => {
      const s = await seal(pattern(10));
      const bad = s.blob.slice();
      bad[0] = 2;
      await rejectsCorrupt(s, bad);
    });
  });
});
