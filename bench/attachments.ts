/**
 * `npm run bench -- attachments [--sizes MIB]`: one file (64 MiB unless told) encrypted,
 * uploaded, downloaded and decrypted through a real Parley server (SDK `sendFile` and
 * `attachment.download`), against the same bytes PUT and GET unencrypted to a minimal Node HTTP
 * server (`attachment-server.ts raw`) in the same run. Figures:
 * - `attachments.round_trip_mib_s`: file MiB / (upload + download seconds), Parley vs raw;
 * - `attachments.server_peak_rss_mb`: peak RSS (VmHWM) of the Parley server vs the raw server;
 * - `attachments.client_peak_rss_mb`: peak RSS of this process after the Parley transfer vs
 *   before it (the SDK clients open, no file touched yet).
 * Targets (issue 21): ratio ≥ 0.5 for throughput, each process < 150 MB for a 2 GiB file.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ClientEvent, registerAccount } from '@parley/client';
import { report } from './report.ts';

const note = (text: string): void => void process.stderr.write(`${text}\n`);

function startChild(mode: string, dir: string): Promise<{ child: ChildProcess; url: string }> {
  const script = new URL('./attachment-server.ts', import.meta.url).pathname;
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=source', script, mode, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d) => {
      out += String(d);
      const m = /listening (\S+)/.exec(out);
      if (m?.[1]) resolve({ child, url: m[1] });
    });
    child.once('exit', (code) => reject(new Error(`${mode} server exited (${code})`)));
  });
}

/** Peak resident memory of a process in MB (VmHWM). */
function peakRssMb(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmHWM for ${pid}`);
  return Number(m[1]) / 1024;
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const out = createWriteStream(path);
  for (let left = bytes; left > 0; ) {
    const n = Math.min(left, 1024 * 1024);
    if (!out.write(randomBytes(n))) await new Promise<void>((r) => out.once('drain', () => r()));
    left -= n;
  }
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** Runs the benchmark. */
export async function runAttachments(args: { sizes?: number[] }): Promise<void> {
  const mib = args.sizes?.[0] ?? 64;
  const size = mib * 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-attach-'));
  try {
    const source = join(dir, 'file.bin');
    await writeRandomFile(source, size);

    // Parley: encrypt + upload (sendFile), then download + decrypt + verify.
    const parley = await startChild('parley', join(dir, 'srv'));
    const alice = await registerAccount({ home: join(dir, 'alice'), name: 'alice', server: parley.url });
    const bob = await registerAccount({ home: join(dir, 'bob'), name: 'bob', server: parley.url });
    const clientBefore = process.resourceUsage().maxRSS / 1024;
    const events = bob.events();
    const t0 = performance.now();
    await alice.sendFile('bob', source);
    const upload = performance.now() - t0;
    let attachment: Extract<ClientEvent, { type: 'attachment' }> | undefined;
    for await (const e of events) {
      if (e.type === 'attachment') {
        attachment = e;
        break;
      }
    }
    if (attachment === undefined) throw new Error('no attachment arrived');
    const t1 = performance.now();
    await attachment.attachment.download(join(dir, 'received.bin'));
    const download = performance.now() - t1;
    if (statSync(join(dir, 'received.bin')).size !== size) throw new Error('received file has the wrong size');
    const clientPeak = process.resourceUsage().maxRSS / 1024;
    const serverPeak = peakRssMb(parley.child.pid as number);
    await alice.close();
    await bob.close();
    await stop(parley.child);

    // Baseline: the same bytes PUT and GET, plaintext, to a minimal server.
    const raw = await startChild('raw', dir);
    const t2 = performance.now();
    const put = await fetch(`${raw.url}/f`, {
      method: 'PUT',
      body: Readable.toWeb(createReadStream(source, { highWaterMark: 64 * 1024 })) as unknown as BodyInit,
      duplex: 'half',
    } as RequestInit);
    if (put.status !== 204) throw new Error(`raw PUT answered ${put.status}`);
    const rawUpload = performance.now() - t2;
    const t3 = performance.now();
    const got = await fetch(`${raw.url}/f`);
    await pipeline(Readable.fromWeb(got.body as never), createWriteStream(join(dir, 'raw-got.bin')));
    const rawDownload = performance.now() - t3;
    const rawPeak = peakRssMb(raw.child.pid as number);
    await stop(raw.child);

    const mibs = (ms: number) => mib / (ms / 1000);
    note(
      `${mib} MiB: parley upload ${(upload / 1000).toFixed(2)} s, download ${(download / 1000).toFixed(2)} s; raw PUT ${(rawUpload / 1000).toFixed(2)} s, GET ${(rawDownload / 1000).toFixed(2)} s`,
    );
    report('attachments.round_trip_mib_s', mibs(upload + download), 'MiB/s', mibs(rawUpload + rawDownload));
    report('attachments.upload_mib_s', mibs(upload), 'MiB/s', mibs(rawUpload));
    report('attachments.download_mib_s', mibs(download), 'MiB/s', mibs(rawDownload));
    report('attachments.server_peak_rss_mb', serverPeak, 'MB', rawPeak);
    report('attachments.client_peak_rss_mb', clientPeak, 'MB', clientBefore);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
