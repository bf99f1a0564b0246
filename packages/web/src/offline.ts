/**
 * Offline support: registers the service worker (public/sw.js) that lets the app open without
 * the server from a checked copy of exactly the served bundle. The page's Trusted Types policy
 * `parley-sw` (allowed by the server's CSP) passes that one URL and nothing else.
 */

/** The worker's only URL. */
const WORKER = '/sw.js';

interface TrustedTypesLike {
  createPolicy(
    name: string,
    rules: { createScriptURL(url: string): string },
  ): { createScriptURL(url: string): unknown };
}

/** Registers the offline worker; failures leave the app working online only. */
export function registerOfflineWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  const tt = (globalThis as { trustedTypes?: TrustedTypesLike }).trustedTypes;
  let url: unknown = WORKER;
  if (tt !== undefined) {
    const policy = tt.createPolicy('parley-sw', {
      createScriptURL(u) {
        if (u !== WORKER) throw new TypeError(`only ${WORKER} may be a worker script`);
        return u;
      },
    });
    url = policy.createScriptURL(WORKER);
  }
  navigator.serviceWorker.register(url as string, { scope: '/', updateViaCache: 'none' }).catch(() => {
    // No worker (private mode, a browser setting): the app still works while online.
  });
}

/** Longest wait between attempts to connect a page that opened offline (ms). */
const RETRY_MAX_MS = 10_000;

/**
 * Connects `connect` (the SDK's `client.connect`), retrying until it succeeds: the SDK
 * reconnects by itself only once a first connection was made, and a page opened while the
 * server was down must still come online when it returns. Retries at once when the browser
 * reports being back online.
 */
export async function keepConnecting(connect: () => Promise<void>, isConnected: () => boolean): Promise<void> {
  let wait = 1_000;
  for (;;) {
    try {
      await connect();
      return;
    } catch {
      if (isConnected()) return;
    }
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        removeEventListener('online', done);
        resolve();
      };
      const timer = setTimeout(done, wait);
      addEventListener('online', done);
    });
    wait = Math.min(wait * 2, RETRY_MAX_MS);
  }
}
