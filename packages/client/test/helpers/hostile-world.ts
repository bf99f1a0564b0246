/**
 * A test world whose clients all reach the relay through a proxy with a swappable rewrite rule:
 * the hostile operator of docs/threat-model.md.
 */
import { openClient, type ParleyClient, registerAccount, startLink } from '@parley/client';
import { createWorld } from './env.ts';
import { type Rewrite, startRecordingProxy } from './recording-proxy.ts';

/** Creates a hostile world; `setRule` swaps what the proxy does to each frame. */
export async function hostileWorld() {
  const world = await createWorld();
  let rule: Rewrite = (d) => [d];
  const proxy = await startRecordingProxy(
    () => world.server.url,
    (d, toServer) => rule(d, toServer),
  );
  const clients: ParleyClient[] = [];
  return {
    world,
    proxy,
    setRule(r: Rewrite) {
      rule = r;
    },
    async register(name: string, options: { requestTimeoutMs?: number } = {}) {
      const c = await registerAccount({ home: world.home(name), name, server: proxy.url, receipts: false, ...options });
      clients.push(c);
      return c;
    },
    /** Links a new device (home `home`) to `existing` through the proxy. */
    async link(existing: ParleyClient, home: string) {
      const pending = await startLink({ home: world.home(home), server: proxy.url, deviceName: home });
      await existing.acceptLink(pending.code);
      await pending.done;
      const c = await openClient({ home: world.home(home), receipts: false });
      clients.push(c);
      await c.connect();
      return c;
    },
    async close() {
      for (const c of clients) await c.close().catch(() => {});
      await proxy.close();
      await world.close();
    },
  };
}
