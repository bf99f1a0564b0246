/**
 * Parley's service worker: lets the app open without the server, and never serves code the
 * server did not list. It caches exactly the files of the bundle's listing (/web-bundle.txt,
 * `sha256hex  path` lines, the same listing whose SHA-256 is the bundle digest), keeps a file
 * only if its bytes hash to the listed value, and marks a cache usable only once every file is
 * in it. Requests go to the network first; only when the network fails does it answer, and then
 * only with a file of a complete, checked cache.
 */
const LISTING = '/web-bundle.txt';
const COMPLETE = '/.parley-complete';
const PREFIX = 'parley-bundle-';

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
const sha256 = async (bytes) => hex(await crypto.subtle.digest('SHA-256', bytes));

/** Fetches the listing and caches every file it names, checked against its hash; returns the cache name. */
async function cacheBundle() {
  const res = await fetch(LISTING, { cache: 'no-store' });
  if (!res.ok) throw new Error(`no bundle listing (HTTP ${res.status})`);
  const listing = await res.text();
  const name = PREFIX + (await sha256(new TextEncoder().encode(listing)));
  const cache = await caches.open(name);
  if (!(await cache.match(COMPLETE))) {
    for (const line of listing.split('\n')) {
      const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line);
      if (!m) continue;
      const [, hash, path] = m;
      const fileRes = await fetch(`/${path}`, { cache: 'no-store' });
      const body = await fileRes.arrayBuffer();
      if (!fileRes.ok || (await sha256(body)) !== hash) throw new Error(`/${path} does not match the listing`);
      await cache.put(`/${path}`, new Response(body, { status: 200, headers: fileRes.headers }));
    }
    await cache.put(COMPLETE, new Response('ok'));
  }
  for (const other of await caches.keys()) if (other.startsWith(PREFIX) && other !== name) await caches.delete(other);
  return name;
}

/** The complete cache, if there is one. */
async function completeCache() {
  for (const name of await caches.keys()) {
    if (!name.startsWith(PREFIX)) continue;
    const cache = await caches.open(name);
    if (await cache.match(COMPLETE)) return cache;
  }
  return undefined;
}

let refreshing;
/** Re-caches when the served page names another bundle than the cached one. */
function refresh(digest) {
  if (!digest || refreshing) return;
  refreshing = caches
    .has(PREFIX + digest)
    .then((has) => (has ? undefined : cacheBundle()))
    .catch(() => {})
    .finally(() => {
      refreshing = undefined;
    });
  return refreshing;
}

self.addEventListener('install', (event) => {
  event.waitUntil(cacheBundle().then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(self.clients.claim());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  // Attachment blobs go straight to the network: never cached, and streamed without a detour.
  if (url.pathname.startsWith('/v1/blobs/')) return;
  const navigate = req.mode === 'navigate';
  const path = navigate ? '/index.html' : url.pathname;
  event.respondWith(
    fetch(req).then(
      (res) => {
        if (navigate && res.ok) {
          const digest = res.headers.get('x-parley-web-digest');
          const pending = refresh(digest);
          if (pending) event.waitUntil(pending);
        }
        return res;
      },
      async (err) => {
        if (path === LISTING || path === COMPLETE) throw err;
        const cache = await completeCache();
        const hit = cache && (await cache.match(path));
        if (hit) return hit;
        throw err;
      },
    ),
  );
});
