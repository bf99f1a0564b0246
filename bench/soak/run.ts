/**
 * `npm run soak -- crash [--kills N] [--store sqlite|postgres] [--clients N]`: the crash loop
 *   (crash.ts), then a receiving client process SIGKILLed while messages arrive (client-kill.ts)
 *   and a server SIGKILLed during a migration (migration-kill.ts); `--only loop|client|migration`.
 * `npm run soak -- --minutes N`: steady mixed load against a server process, its RSS, heap and
 *   open files sampled every 10 s (steady.ts).
 * Output: JSON lines; the last line of each part is its summary. Exits 1 when a check fails.
 */
import { runClientKill } from './client-kill.ts';
import { runCrashSoak } from './crash.ts';
import { runMigrationKill } from './migration-kill.ts';
import { runSteady } from './steady.ts';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string, fallback: number): number => {
  const v = opt(name);
  const n = v === undefined ? fallback : Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got ${v}`);
  return n;
};
const line = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const POSTGRES_URL = process.env.PARLEY_TEST_POSTGRES ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env.PARLEY_TEST_NATS ?? 'nats://127.0.0.1:4222';

let failed = false;
if (args[0] === 'crash') {
  const only = opt('only');
  const store = (opt('store') ?? 'sqlite') as 'sqlite' | 'postgres';
  if (store !== 'sqlite' && store !== 'postgres') throw new Error('--store: sqlite or postgres');
  const kills = num('kills', 20);
  if (only === undefined || only === 'loop') {
    const s = await runCrashSoak({
      store,
      kills,
      clients: num('clients', 20),
      meanIntervalMs: num('interval-ms', 3000),
      sendIntervalMs: num('send-interval-ms', 500),
      settleMs: num('settle-ms', 180_000),
      postgresUrl: POSTGRES_URL,
      natsUrl: NATS_URL,
      onKill: (k) => line({ progress: 'kill', ...k }),
    });
    line(s);
    failed ||=
      s.lost + s.duplicated + s.outOfOrder + s.undecryptable + s.groupRejected + s.stalledUntilReopen + s.unexpected >
        0 ||
      s.acked === 0 ||
      s.sendFailed > 0;
  }
  if (only === undefined || only === 'client') {
    const s = await runClientKill({ kills: Math.max(3, Math.round(kills / 2)), messages: num('messages', 400) });
    line(s);
    failed ||= s.lost + s.duplicated + s.outOfOrder + s.undecryptable > 0 || s.killedWhileReceiving === 0;
  }
  if (only === undefined || only === 'migration') {
    const s = await runMigrationKill({ rows: num('rows', 200_000), kills: num('migration-kills', 5) });
    line(s);
    failed ||= !s.consistent;
  }
} else if (args.includes('--minutes')) {
  const s = await runSteady({ minutes: num('minutes', 10), clients: num('clients', 20), onSample: line });
  line(s);
} else {
  console.error(
    'usage: npm run soak -- crash [--kills N] [--store sqlite|postgres] [--clients N] [--only loop|client|migration]\n' +
      '       npm run soak -- --minutes N [--clients N]',
  );
  process.exit(2);
}
process.exit(failed ? 1 : 0);
