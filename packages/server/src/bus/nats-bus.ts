/**
 * The bus over NATS core pub/sub (`--bus nats://host:4222`).
 */
import { connect, StringCodec } from 'nats';
import { BUS_SUBJECT, type Bus, parseBusEvent } from './bus.ts';

/** Connects to NATS at `url`. */
export async function openNatsBus(url: string): Promise<Bus> {
  const nc = await connect({ servers: url.replace(/^nats:\/\//, ''), maxReconnectAttempts: -1 });
  const sc = StringCodec();
  return {
    name: 'nats',
    publish(event) {
      // After close (shutdown) there is no one to tell; a publish then is not an error.
      if (nc.isClosed() || nc.isDraining()) return;
      try {
        nc.publish(BUS_SUBJECT, sc.encode(JSON.stringify(event)));
      } catch {
        // A lost doorbell delays a delivery until the device's next acknowledgement; never loses it.
      }
    },
    subscribe(handler) {
      const sub = nc.subscribe(BUS_SUBJECT);
      void (async () => {
        for await (const m of sub) {
          const e = parseBusEvent(sc.decode(m.data));
          if (e !== undefined) handler(e);
        }
      })().catch(() => {});
    },
    async close() {
      await nc.drain();
    },
  };
}
