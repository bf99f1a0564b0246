/**
 * `parley send NAME --file F` killed with SIGKILL mid-upload and run again with the same command
 * resumes from the server's acknowledged offset (issue 21): the upload's slot, secrets and offset
 * are kept in the sender's home (`pending_uploads`). The server runs in this process with its
 * file-system blob store wrapped: the wrapper counts the bytes each acknowledged append stored,
 * and holds the first append past `HOLD_AT` so the sender is killed at a known point (no timing).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attachmentBlobSize } from '@parley/protocol';
import { type BlobStore, openFsBlobStore, type RunningServer, startServer } from '@parley/server';

const BIN = new URL('../../bin/parley.js', import.meta.url).pathname;
const MiB = 1024 * 1024;
/** The first append at or past this offset is held until the sender was killed. */
const HOLD_AT = 8 * MiB;

/** Runs `parley ARGS` without blocking this process's event loop (the server lives here). */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('parley send --file resumes after the sender was killed', () => {
  let dir: string;
  let server: RunningServer;
  let inner: BlobStore;
  let stored = 0;
  let holding = true;
  let reached: () => void = () => {};
  const reachedHold = new Promise<void>((r) => {
    reached = r;
  });
  let release: () => void = () => {};
  const released = new Promise<void>((r) => {
    release = r;
  });
  const home = (n: string) => join(dir, n);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-cli-resume-'));
    inner = await openFsBlobStore(join(dir, 'blobs'));
    const counted: BlobStore = {
      ...inner,
      async append(id, offset, source, now) {
        if (holding && offset >= HOLD_AT) {
          reached();
          await released;
          throw new Error('the sender of this request was killed');
        }
        const at = await inner.append(id, offset, source, now);
        stored += at - offset;
        return at;
      },
    };
    server = await startServer({ port: 0, dataDir: join(dir, 'srv'), logLevel: 'silent', blobs: counted });
    for (const name of ['ann', 'ben']) {
      const r = await run(['register', name, '--server', server.url, '--home', home(name)]);
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    release();
    await server.close();
    await inner.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the second run sends only what the server did not acknowledge, and the receiver gets the same SHA-256', async () => {
    const file = join(dir, 'big.bin');
    const body = randomBytes(20 * MiB + 123);
    writeFileSync(file, body);
    const blobSize = attachmentBlobSize(body.length);
    const args = ['send', 'ben', '--file', file, '--home', home('ann')];

    const first = spawn(process.execPath, [BIN, ...args], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((r) => first.on('exit', (_c, signal) => r(signal)));
    await reachedHold;
    first.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    holding = false;
    release();
    const firstRun = stored;
    assert.ok(firstRun >= HOLD_AT, `the server acknowledged ${firstRun} bytes before the kill`);

    stored = 0;
    const second = await run(args);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /^resuming .*big\.bin: 8(\.0)? MiB of 20(\.\d)? MiB already on the server$/m);
    assert.match(second.stdout, /sent .*big\.bin to ben/);
    // Bytes re-sent on the second run: the rest of the blob only, fewer than the file's size.
    assert.equal(stored, blobSize - firstRun);
    assert.ok(stored < body.length, `re-sent ${stored} of ${body.length}`);
    process.stdout.write(`# first run stored ${firstRun} B; second run re-sent ${stored} B of a ${blobSize} B blob\n`);

    const got = await run(['receive', '--home', home('ben')]);
    assert.equal(got.status, 0, got.stderr);
    assert.match(got.stdout, /saved .*big\.bin/);
    assert.equal(sha256(readFileSync(join(home('ben'), 'downloads', 'big.bin'))), sha256(body));
  });

  it('a finished upload leaves nothing to resume: sending the same file again uploads it afresh', async () => {
    const file = join(dir, 'twice.bin');
    writeFileSync(file, randomBytes(100_000));
    holding = false;
    stored = 0;
    for (let i = 0; i < 2; i++) {
      const r = await run(['send', 'ben', '--file', file, '--home', home('ann')]);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /resuming/);
    }
    assert.equal(stored, 2 * attachmentBlobSize(100_000));
  });
});
