/**
 * `npm run bench -- reconnect [--connections N] [--seconds OUTAGE]` (issue 24, "recovery is
 * slow"): N devices (default 1,000), each on the client SDK's own relay link
 * (`packages/client/src/relay/relay-link.ts`, with its reconnect backoff), connected to a Parley
 * relay in a child process. The relay is killed (SIGKILL), stays down OUTAGE seconds (default
 * 10), and is started again on the same port and data directory. Figures, from the moment the
 * new relay listens:
 *   - `reconnect.p95_s` / `reconnect.all_s`: time until 95% / 100% of the links are back;
 *   - `reconnect.peak_connects_per_s`: most handshakes completed in one second;
 * each against its baseline: the same links connecting once, all at once, to a running relay.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  authSignedBytes,
  encodeDeviceIdentityPublic,
  encodeSignedDeviceList,
  generateAccountIdentity,
  generateDeviceIdentity,
  signDeviceList,
  toBase64Url,
} from '@parley/protocol';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import { nodePlatform } from '../packages/client/src/node-platform.ts';
import { openRelayLink, type RelayLink } from '../packages/client/src/relay/relay-link.ts';
import { startRelay } from './relay.ts';
import { report } from './report.ts';

const provider = createNodeCryptoProvider();
const random = createNodeRandom();

/** One benchmark device: registers on its first connect, authenticates on every later one. */
async function device(name: string) {
  const account = await generateAccountIdentity(provider, random);
  const identity = await generateDeviceIdentity(provider, random);
  const publicIdentity = encodeDeviceIdentityPublic(identity.publicIdentity);
  const list = encodeSignedDeviceList(
    await signDeviceList(provider, account.privateKey, 1, [{ id: 1, identity: publicIdentity }]),
  );
  let registered = false;
  return {
    name,
    async handshake(nonce: Uint8Array): Promise<{ op: 'register' | 'auth'; args: object }> {
      if (!registered) {
        registered = true;
        const signature = await provider.ed25519Sign(identity.signingPrivateKey, authSignedBytes(nonce, name, 0));
        return {
          op: 'register',
          args: {
            name,
            accountKey: toBase64Url(account.publicKey),
            identity: toBase64Url(publicIdentity),
            deviceList: toBase64Url(list),
            signature: toBase64Url(signature),
          },
        };
      }
      const signature = await provider.ed25519Sign(identity.signingPrivateKey, authSignedBytes(nonce, name, 1));
      return { op: 'auth', args: { name, device: 1, signature: toBase64Url(signature) } };
    },
  };
}

type Device = Awaited<ReturnType<typeof device>>;

/** Opens one link per device; `onConnected` hears every completed handshake (first and later). */
async function openAll(
  url: string,
  devices: readonly Device[],
  onConnected: (i: number) => void,
): Promise<RelayLink[]> {
  return Promise.all(
    devices.map((d, i) =>
      openRelayLink({
        url,
        handshake: (nonce) => d.handshake(nonce),
        onFrame: () => {},
        onState: (s) => {
          if (s === 'connected') onConnected(i);
        },
        openWebSocket: nodePlatform.openWebSocket,
        requestTimeoutMs: 60_000,
        // RECONNECT_CAP_MS: another cap than the SDK's default, to measure the choice.
        ...(process.env.RECONNECT_CAP_MS === undefined ? {} : { maxBackoffMs: Number(process.env.RECONNECT_CAP_MS) }),
        signal: AbortSignal.timeout(120_000),
      }),
    ),
  );
}

/** Times (ms from `t0`) of `n` events: when 95% and all had happened, and the most in one second. */
function figures(times: readonly number[], n: number): { p95: number; all: number; peak: number } {
  const sorted = [...times].sort((a, b) => a - b);
  const at = (k: number) => (sorted[Math.min(sorted.length, k) - 1] ?? Number.NaN) / 1000;
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return { p95: at(Math.ceil(n * 0.95)), all: sorted.length < n ? Number.NaN : at(n), peak };
}

export async function runReconnect(args: { seconds: number; connections?: number }): Promise<void> {
  const n = args.connections ?? 1000;
  // --seconds is the outage here; the harness's default of 3 is taken as "not given".
  const outageMs = (args.seconds === 3 ? 10 : args.seconds) * 1000;
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-reconnect-'));
  const dataDir = join(dir, 'data');
  let relay = await startRelay(['parley', dataDir]);
  const port = new URL(relay.url).port;
  let links: RelayLink[] = [];
  try {
    const devices = await Promise.all(Array.from({ length: n }, (_, i) => device(`dev${i}`)));
    // Registration (one write per account), not measured.
    for (const l of await openAll(relay.url, devices, () => {})) l.close();

    // Baseline: every link connects once, all at once, to a running relay.
    let t0 = performance.now();
    const first: number[] = [];
    // After the restart: the first handshake of each link, by index.
    const back = new Map<number, number>();
    let restarted = false;
    links = await openAll(relay.url, devices, (i) => {
      if (!restarted) first.push(performance.now() - t0);
      else if (!back.has(i)) back.set(i, performance.now() - t0);
    });
    const base = figures(first, n);
    process.stderr.write(`baseline: ${n} links connected, p95 ${base.p95} s, all ${base.all} s, peak ${base.peak}/s\n`);

    // The relay dies, stays down for the outage, and comes back on the same port.
    relay.child.kill('SIGKILL');
    await new Promise((r) => relay.child.once('exit', r));
    await new Promise((r) => setTimeout(r, outageMs));
    process.env.RELAY_PORT = port;
    restarted = true;
    relay = await startRelay(['parley', dataDir]);
    t0 = performance.now();
    const deadline = Date.now() + 120_000;
    while (back.size < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    // A link that connected in the moment between the relay's listening and t0 counts as 0.
    const after = figures(
      [...back.values()].map((t) => Math.max(0, t)),
      n,
    );
    process.stderr.write(
      `after a ${outageMs / 1000} s outage: ${back.size}/${n} back, p95 ${after.p95} s, all ${after.all} s, peak ${after.peak}/s\n`,
    );
    report(`reconnect.p95_s_${n}`, after.p95, 's', base.p95);
    report(`reconnect.all_s_${n}`, after.all, 's', base.all);
    report(`reconnect.peak_connects_per_s_${n}`, after.peak, 'connects/s', base.peak);
  } finally {
    for (const l of links) l.close();
    relay.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}
