/**
 * Issue 19, item 11, driven as subprocesses: `parley serve --tls-cert --tls-key` serves HTTPS and
 * WSS itself and reloads its certificate on SIGHUP; the CLI refuses a plaintext server that is not
 * on this machine unless --insecure is given. The certificates come from a throwaway CA made with
 * the openssl binary in a temporary directory.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';

const BIN = new URL('../bin/parley.js', import.meta.url).pathname;

function parley(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs openssl with `args` in `dir`. */
function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA (ca.pem, ca.key) in `dir`. */
function makeCa(dir: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Parley test CA',
  ]);
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
}

/** A new key and a certificate for 127.0.0.1 and localhost signed by the CA: `${name}.pem`, `${name}.key`. */
function makeServerCert(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    `${name}.csr`,
    '-subj',
    '/CN=localhost',
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    cert,
    '-days',
    '2',
    '-extfile',
    'server.ext',
  ]);
  return { cert, key };
}

const fingerprint = (pemFile: string): string => new X509Certificate(readFileSync(pemFile)).fingerprint256;

/** The SHA-256 fingerprint of the certificate a new TLS connection to `port` is shown (verified against `ca`). */
function presented(port: number, ca: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.end();
      if (cert === undefined) reject(new Error('no peer certificate'));
      else resolve(cert.fingerprint256);
    });
    socket.once('error', reject);
  });
}

/** GETs `url` trusting `ca`: status and body. */
function fetchTls(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).once('error', reject);
  });
}

describe('parley serve with its own TLS certificate', () => {
  let dir: string;
  let server: ChildProcess;
  let url: string;
  let port: number;
  let out = '';
  let ca: Buffer;
  let served: { cert: string; key: string };
  const home = (n: string) => join(dir, `home-${n}`);
  let trust: Record<string, string>;
  /** Resolves once the server's standard output has a line matching `pattern` after offset `from`. */
  const outputLine = (pattern: RegExp, from: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const line = out
          .slice(from)
          .split('\n')
          .find((l) => pattern.test(l));
        if (line === undefined) return false;
        server.stdout?.off('data', onData);
        server.off('exit', onExit);
        resolve(line);
        return true;
      };
      const onData = (): void => void check();
      const onExit = (): void => reject(new Error(`server exited: ${out}`));
      if (check()) return;
      server.stdout?.on('data', onData);
      server.once('exit', onExit);
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-tls-'));
    makeCa(dir);
    ca = readFileSync(join(dir, 'ca.pem'));
    trust = { NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') };
    const first = makeServerCert(dir, 'first');
    // The files the server is started on; the test replaces their contents for the reload.
    served = { cert: join(dir, 'served.pem'), key: join(dir, 'served.key') };
    writeFileSync(served.cert, readFileSync(first.cert));
    writeFileSync(served.key, readFileSync(first.key));
    server = spawn(
      process.execPath,
      [BIN, 'serve', '--port', '0', '--data', join(dir, 'srv'), '--tls-cert', served.cert, '--tls-key', served.key],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    server.stdout?.setEncoding('utf8');
    server.stdout?.on('data', (d: string) => {
      out += d;
    });
    const line = await outputLine(/running at https:\/\/\S+/, 0);
    url = /running at (https:\/\/\S+)/.exec(line)?.[1] as string;
    port = Number(new URL(url).port);
  });
  after(() => {
    server.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints an https:// URL and serves the web page and /healthz over HTTPS', async () => {
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetchTls(`${url}/healthz`, ca);
    assert.equal(health.status, 200);
    const page = await fetchTls(`${url}/`, ca);
    assert.equal(page.status, 200);
    assert.match(page.body, /<html/i);
  });

  it('register, send and receive over WSS, trusting the CA through NODE_EXTRA_CA_CERTS', () => {
    const a = parley(['register', 'ann', '--server', url, '--home', home('ann')], trust);
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /registered ann on https:\/\//);
    assert.equal(parley(['register', 'ben', '--server', url, '--home', home('ben')], trust).status, 0);
    const s = parley(['send', 'ben', 'over tls', '--home', home('ann')], trust);
    assert.equal(s.status, 0, s.stderr);
    const r = parley(['receive', '--home', home('ben')], trust);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'ann: over tls\n');
  });

  it('a client that does not trust the CA is refused by its own TLS check, and says so', () => {
    const r = parley(['register', 'cyd', '--server', url, '--home', home('cyd'), '--timeout', '5']);
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stderr, /certificate/);
  });

  it('SIGHUP reloads the certificate files; a bad new certificate keeps the old one and logs why', async () => {
    const before = await presented(port, ca);
    assert.equal(before, fingerprint(served.cert));
    const second = makeServerCert(dir, 'second');
    writeFileSync(served.cert, readFileSync(second.cert));
    writeFileSync(served.key, readFileSync(second.key));
    let from = out.length;
    server.kill('SIGHUP');
    await outputLine(/TLS certificate reloaded/, from);
    const now = await presented(port, ca);
    assert.equal(now, fingerprint(second.cert));
    assert.notEqual(now, before);
    // The clients go on over the new certificate.
    assert.equal(parley(['send', 'ben', 'after reload', '--home', home('ann')], trust).status, 0);
    assert.equal(parley(['receive', '--home', home('ben')], trust).stdout, 'ann: after reload\n');

    // A certificate that does not match the key: refused, the second certificate stays.
    const third = makeServerCert(dir, 'third');
    writeFileSync(served.cert, readFileSync(third.cert));
    from = out.length;
    server.kill('SIGHUP');
    const refused = await outputLine(/TLS certificate not reloaded/, from);
    assert.doesNotMatch(refused, /PRIVATE KEY|BEGIN/);
    assert.equal(await presented(port, ca), fingerprint(second.cert));
    // Not PEM at all: the same.
    writeFileSync(served.cert, 'not a certificate\n');
    from = out.length;
    server.kill('SIGHUP');
    await outputLine(/TLS certificate not reloaded/, from);
    assert.equal(await presented(port, ca), fingerprint(second.cert));
    assert.equal((await fetchTls(`${url}/healthz`, ca)).status, 200);
  });

  it('refuses --tls-cert without --tls-key, and a file it cannot read', () => {
    const one = parley(['serve', '--port', '0', '--data', join(dir, 'x'), '--tls-cert', served.cert]);
    assert.equal(one.status, 2);
    assert.match(one.stderr, /--tls-cert and --tls-key go together/);
    const missing = parley([
      'serve',
      '--port',
      '0',
      '--data',
      join(dir, 'y'),
      '--tls-cert',
      join(dir, 'nope.pem'),
      '--tls-key',
      served.key,
    ]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.pem/);
  });
});

describe('a plaintext server that is not on this machine', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-insecure-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('register and link refuse http://example.test with a clear message and exit 1, before connecting', () => {
    const r = parley(['register', 'ann', '--server', 'http://example.test', '--home', join(dir, 'a')]);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /http:\/\/example\.test: .*not be encrypted/);
    assert.match(r.stderr, /https:\/\//);
    assert.match(r.stderr, /--insecure/);
    const l = parley(['link', '--server', 'ws://example.test:8787', '--home', join(dir, 'b')]);
    assert.equal(l.status, 1, l.stderr);
    assert.match(l.stderr, /not be encrypted/);
  });

  it('--insecure lets it try (and, with nothing there, fail to reach it: exit 7)', () => {
    const r = parley([
      'register',
      'ann',
      '--server',
      'http://example.test:9',
      '--insecure',
      '--home',
      join(dir, 'c'),
      '--timeout',
      '5',
    ]);
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stderr, /cannot reach the server at http:\/\/example\.test:9/);
  });

  it('a loopback http:// server needs no --insecure', () => {
    const r = parley(['register', 'ann', '--server', 'http://127.0.0.1:9', '--home', join(dir, 'd')]);
    assert.equal(r.status, 7, r.stderr);
    assert.match(r.stderr, /cannot reach/);
  });

  it('--help names --insecure and the TLS flags', () => {
    const h = parley(['--help']);
    for (const word of ['--insecure', '--tls-cert', '--tls-key', 'SIGHUP']) assert.ok(h.stdout.includes(word), word);
  });
});
