/**
 * Benchmark entry point: `npm run bench -- NAME [--seconds S]`. Prints one JSON line per figure
 * (`{"name","value","unit","baseline","ratio"}`); see bench/RESULTS.md for recorded runs.
 */
import { runAttachments } from './attachments.ts';
import { runConnections } from './connections.ts';
import { runDrain } from './drain.ts';
import { runGroups } from './groups.ts';
import { runHome } from './home.ts';
import { runKt } from './kt.ts';
import { runKtVrf } from './kt-vrf.ts';
import { runRatchet } from './ratchet.ts';
import { runReconnect } from './reconnect.ts';
import { runRelay } from './relay.ts';
import { runStartup } from './startup.ts';

type Args = {
  seconds: number;
  connections?: number;
  nodes?: number;
  bus?: string;
  sizes?: number[];
  runs?: number;
  accounts?: number;
  /** kt: accounts registered into the server directory for the audit and storage figures. */
  serverAccounts?: number;
};
const benchmarks: Record<string, (args: Args) => Promise<unknown>> = {
  attachments: runAttachments,
  connections: runConnections,
  drain: runDrain,
  groups: runGroups,
  home: runHome,
  'kt-vrf': runKtVrf,
  kt: runKt,
  ratchet: runRatchet,
  reconnect: runReconnect,
  relay: runRelay,
  startup: runStartup,
};

const [name, ...rest] = process.argv.slice(2);
const secondsFlag = rest.indexOf('--seconds');
const seconds = secondsFlag >= 0 ? Number(rest[secondsFlag + 1]) : 3;
const connectionsFlag = rest.indexOf('--connections');
const connections = connectionsFlag >= 0 ? Number(rest[connectionsFlag + 1]) : undefined;
const flag = (name: string) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const nodes = flag('--nodes') === undefined ? undefined : Number(flag('--nodes'));
const bus = flag('--bus');
if (flag('--db') !== undefined && flag('--db') !== 'postgres') {
  process.stderr.write('--db takes "postgres" (the URL comes from PARLEY_BENCH_POSTGRES)\n');
  process.exit(2);
}
if (!name || name === '--help' || !(name in benchmarks) || !(seconds > 0)) {
  process.stderr.write(
    `usage: npm run bench -- NAME [--seconds S] [--connections N] [--nodes N --db postgres --bus nats|redis] [--sizes 10,100,1000] [--runs N] [--accounts N] [--server-accounts N]\nbenchmarks: ${Object.keys(benchmarks).join(', ')}\n`,
  );
  process.exit(name === '--help' ? 0 : 2);
}
const args: Args = { seconds };
if (connections !== undefined) args.connections = connections;
if (nodes !== undefined) args.nodes = nodes;
if (bus !== undefined) args.bus = bus;
const sizes = flag('--sizes');
if (sizes !== undefined) args.sizes = sizes.split(',').map(Number);
const runs = flag('--runs');
if (runs !== undefined) args.runs = Number(runs);
const accounts = flag('--accounts');
if (accounts !== undefined) args.accounts = Number(accounts);
const serverAccounts = flag('--server-accounts');
if (serverAccounts !== undefined) args.serverAccounts = Number(serverAccounts);
await benchmarks[name]?.(args);
