/**
 * The bus over Redis pub/sub (`--bus redis://host:6379`). Subscribing takes a connection of its
 * own, so there are two.
 */
import { createClient } from 'redis';
import { BUS_SUBJECT, type Bus, parseBusEvent } from './bus.ts';

/** Connects to Redis at `url`. */
export async function openRedisBus(url: string): Promise<Bus> {
  const pub = createClient({ url });
  const sub = pub.duplicate();
  pub.on('error', () => {});
  sub.on('error', () => {});
  await pub.connect();
  await sub.connect();
  return {
    name: 'redis',
    publish(event) {
      void pub.publish(BUS_SUBJECT, JSON.stringify(event)).catch(() => {});
    },
    subscribe(handler) {
      void sub.subscribe(BUS_SUBJECT, (message) => {
        const e = parseBusEvent(message);
        if (e !== undefined) handler(e);
      });
    },
    async close() {
      await sub.quit().catch(() => {});
      await pub.quit().catch(() => {});
    },
  };
}
