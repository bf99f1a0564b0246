/**
 * The two servers the attachments benchmark compares, each its own process:
 *   node --import tsx --conditions=source bench/attachment-server.ts parley DATA_DIR — the Parley server
 *   node --import tsx --conditions=source bench/attachment-server.ts raw DATA_DIR    — PUT/GET files, nothing else
 * Each prints `listening URL` once ready.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { startServer } from '@parley/server';

const [mode, dataDir = '.'] = process.argv.slice(2);

if (mode === 'parley') {
  const server = await startServer({
    port: 0,
    dataDir,
    logLevel: 'silent',
    limits: { handshakeTimeoutMs: 60_000, blobDownloadRatePerSource: 1e6, blobDownloadBurstPerSource: 1e6 },
  });
  process.stdout.write(`listening ${server.url}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
} else if (mode === 'raw') {
  // The baseline: the same bytes PUT to a file and GET back, no auth, no offsets, no fsync.
  const http = createServer((req, res) => {
    const file = join(dataDir, 'raw.bin');
    if (req.method === 'PUT') {
      pipeline(req, createWriteStream(file)).then(
        () => res.writeHead(204).end(),
        () => res.writeHead(500).end(),
      );
    } else {
      res.writeHead(200, { 'content-length': String(statSync(file).size) });
      void pipeline(createReadStream(file, { highWaterMark: 64 * 1024 }), res).catch(() => {});
    }
  });
  http.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening http://127.0.0.1:${(http.address() as AddressInfo).port}\n`);
  });
  process.on('SIGTERM', () => http.close(() => process.exit(0)));
}
