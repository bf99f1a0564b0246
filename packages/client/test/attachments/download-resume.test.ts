/**
 * A download whose connection breaks mid-body resumes with `Range: bytes=<received>-`
 * (docs/protocol.md §16.5) and still verifies: the test's HTTP server cuts the first response
 * after part of the blob, records the Range of each request, and answers ranges as the relay does.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { memorySink } from '@parley/client';
import { attachmentBlobSize, generateAttachmentSecrets, sealAttachment } from '@parley/protocol';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import { downloadBlob } from '../../src/attachments/transfer.ts';

const provider = createNodeCryptoProvider();
const ID = 'AAAAAAAAAAAAAAAAAAAAAA';

async function collect(pieces: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of pieces) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

describe('resuming an interrupted attachment download', () => {
  const plain = randomBytes(300_000);
  const secrets = generateAttachmentSecrets(createNodeRandom());
  let blob: Buffer;
  let digest: Uint8Array;
  let server: Server;
  let url: string;
  const ranges: (string | undefined)[] = [];
  let cutAfter = 0;
  let ignoreRange = false;

  before(async () => {
    const sealed = sealAttachment(
      provider,
      secrets,
      plain.length,
      (async function* () {
        yield plain;
      })(),
    );
    blob = await collect(sealed.pieces);
    digest = sealed.digest();
    assert.equal(blob.length, attachmentBlobSize(plain.length));
    server = createServer((req, res) => {
      ranges.push(req.headers.range);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m === null || ignoreRange) {
        res.writeHead(200, { 'content-length': String(blob.length) });
        if (cutAfter > 0) {
          // Half the blob, then the connection drops.
          res.write(blob.subarray(0, cutAfter), () => setTimeout(() => res.destroy(), 20));
          cutAfter = 0;
          return;
        }
        res.end(blob);
        return;
      }
      const start = Number(m[1]);
      res.writeHead(206, {
        'content-length': String(blob.length - start),
        'content-range': `bytes ${start}-${blob.length - 1}/${blob.length}`,
      });
      res.end(blob.subarray(start));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const download = async () => {
    const sink = memorySink();
    await downloadBlob({
      server: url,
      id: ID,
      provider,
      params: { key: secrets.key, digest, size: plain.length, blobSize: blob.length },
      sink,
    });
    return Buffer.from(sink.bytes() ?? new Uint8Array(0));
  };

  it('asks for the rest from the byte after the last one received, and the file verifies', async () => {
    ranges.length = 0;
    cutAfter = 150_001;
    ignoreRange = false;
    assert.ok((await download()).equals(plain));
    assert.equal(ranges.length, 2, 'one resumed request');
    assert.equal(ranges[0], undefined);
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
    assert.ok(resumedAt > 0 && resumedAt <= 150_001, `resumed at ${ranges[1]}`);
  });

  it('against a server that ignores the range, skips the bytes it already has', async () => {
    ranges.length = 0;
    cutAfter = 100_000;
    ignoreRange = true;
    assert.ok((await download()).equals(plain));
    assert.equal(ranges.length, 2);
    assert.match(ranges[1] ?? '', /^bytes=\d+-$/);
  });
});
