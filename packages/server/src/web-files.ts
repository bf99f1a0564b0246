/**
 * The browser client as `parley serve` serves it: every file of the built bundle read into
 * memory at start-up (so what is served is exactly what was hashed), the bundle's digest, and
 * the headers that pin the page to it: a strict Content-Security-Policy (same-origin scripts
 * only, no eval, WebAssembly allowed, inline scripts only by hash) on top of the Subresource
 * Integrity the build put on every script. docs/threat-model.md says what this does and does
 * not protect against.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

/** One file of the bundle. */
export interface WebFile {
  readonly body: Buffer;
  readonly type: string;
  /** Extra headers (CSP on the page, long caching on hashed assets). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Where the bundle's listing (`sha256hex  path` lines, see `bundleDigest`) is served. */
export const WEB_LISTING_PATH = '/web-bundle.txt';

/** A loaded bundle. */
export interface WebBundle {
  /** By URL path (`/`, `/assets/index-….js`). */
  readonly files: ReadonlyMap<string, WebFile>;
  /** SHA-256 (hex) of the bundle's listing; see `bundleDigest`. */
  readonly digest: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.txt': 'text/plain; charset=utf-8',
};

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else out.push(full);
  }
  return out;
}

/**
 * The digest of a built bundle: SHA-256 over its listing, one line per file sorted by path,
 * `sha256hex  path\n` (paths relative to the bundle, `/`-separated) — exactly what
 * `cd dist && find . -type f -printf '%P\n' | LC_ALL=C sort | xargs sha256sum` prints, so
 * `… | sha256sum` reproduces the digest without Parley.
 */
export function bundleDigest(dir: string): { digest: string; listing: string } {
  const paths = walk(dir)
    .map((f) => relative(dir, f).split(sep).join('/'))
    .sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1));
  const listing = paths
    .map(
      (p) =>
        `${createHash('sha256')
          .update(readFileSync(join(dir, p)))
          .digest('hex')}  ${p}\n`,
    )
    .join('');
  return { digest: createHash('sha256').update(listing).digest('hex'), listing };
}

/** The CSP for the page: nothing but same-origin files, plus inline scripts of `html` by hash. */
export function pagePolicy(html: string): string {
  const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map(
    (m) =>
      `'sha256-${createHash('sha256')
        .update(m[1] ?? '')
        .digest('base64')}'`,
  );
  return [
    "default-src 'none'",
    // 'wasm-unsafe-eval' lets the page compile WebAssembly (SQLite); it does not allow eval().
    `script-src 'self' 'wasm-unsafe-eval'${inline.map((h) => ` ${h}`).join('')}`,
    "style-src 'self'",
    // blob: carries attachments decrypted in the page (images to <img>, voice notes to <audio>).
    "img-src 'self' blob:",
    'media-src blob:',
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",
    // One policy, which only ever passes the service worker's fixed URL (packages/web/src/offline.ts).
    'trusted-types parley-sw',
    "worker-src 'self'",
  ].join('; ');
}

/** Loads the bundle in `dir` (which must hold index.html). */
export function loadWebBundle(dir: string): WebBundle {
  const { digest, listing } = bundleDigest(dir);
  const files = new Map<string, WebFile>();
  // The listing itself, so the page's service worker caches exactly these files, checked against
  // these hashes, and nothing else (packages/web/public/sw.js). Not a file of dist/, so not in it.
  files.set(WEB_LISTING_PATH, {
    body: Buffer.from(listing),
    type: 'text/plain; charset=utf-8',
    headers: { 'cache-control': 'no-cache', 'x-parley-web-digest': digest },
  });
  for (const full of walk(dir)) {
    const path = `/${relative(dir, full).split(sep).join('/')}`;
    const body = readFileSync(full);
    const type = TYPES[extname(full)] ?? 'application/octet-stream';
    if (path === '/index.html') {
      const page: WebFile = {
        body,
        type,
        headers: {
          'content-security-policy': pagePolicy(body.toString('utf8')),
          'cache-control': 'no-cache',
          'referrer-policy': 'no-referrer',
          'cross-origin-opener-policy': 'same-origin',
          'x-frame-options': 'DENY',
          // The camera (scanning QR codes: link codes, safety numbers) and the microphone (voice notes,
          // attachments.tsx) for this page only, never for frames or other origins.
          'permissions-policy': 'camera=(self), microphone=(self), geolocation=()',
          'x-parley-web-digest': digest,
        },
      };
      files.set('/', page);
      files.set('/index.html', page);
    } else {
      // Vite names assets by content hash: a changed file is a new URL.
      const hashed = path.startsWith('/assets/');
      files.set(path, {
        body,
        type,
        headers: {
          'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache',
          'cross-origin-resource-policy': 'same-origin',
        },
      });
    }
  }
  if (!files.has('/')) throw new Error(`${dir} has no index.html: build the web client first (npm run build:web)`);
  return { files, digest };
}
