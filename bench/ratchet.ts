/**
 * `npm run bench -- ratchet [--seconds S]`: session setup per second, steady one-way
 * encrypt+decrypt pairs per second (200-byte message), and ping-pong pairs per second (every
 * message forces a DH ratchet step), for Parley and for libsignal-client in the same run. A setup
 * creates a fresh initiator device, a bundle with one-time EC and ML-KEM prekeys, the initiator's
 * session, its first message, and the responder's decryption of it. Parley and libsignal are
 * measured in alternating half-second slices (`alternatingRates`), so machine load that drifts
 * during a run falls on both; the same ratios per CPU second of the process go to stderr.
 */
import { LibsignalParty } from './libsignal-baseline.ts';
import { createParleyParty, parleyProviderName } from './parley-party.ts';
import { alternatingRates, type Figure, report } from './report.ts';

/** What both implementations offer the workload: a device that talks to another of its kind. */
interface Party<M> {
  startSession(peer: Party<M>): Promise<void>;
  encrypt(peer: Party<M>, plaintext: Uint8Array<ArrayBuffer>): Promise<M>;
  decrypt(peer: Party<M>, message: M): Promise<unknown>;
}

interface Workload {
  setup(): Promise<void>;
  oneWay(): Promise<void>;
  pingPong(): Promise<void>;
}

/** The same three workloads over either implementation; `create` makes a fresh device. */
async function workload<M>(create: (name: string) => Party<M> | Promise<Party<M>>): Promise<Workload> {
  const bob = await create('bob');
  const alice = await create('alice');
  const msg = new Uint8Array(200).fill(7);
  const send = async (from: Party<M>, to: Party<M>) => {
    await to.decrypt(from, await from.encrypt(to, msg));
  };
  await alice.startSession(bob);
  await send(alice, bob);
  await send(bob, alice);
  let turn = false;
  let n = 0;
  return {
    async setup() {
      const a = await create(`alice${n++}`);
      await a.startSession(bob);
      await send(a, bob);
    },
    oneWay: () => send(alice, bob),
    pingPong() {
      turn = !turn;
      return turn ? send(alice, bob) : send(bob, alice);
    },
  };
}

/** Runs the ratchet benchmark and returns its figures. */
export async function runRatchet(args: { seconds: number }): Promise<Figure[]> {
  const parley = await workload(createParleyParty);
  const signal = await workload((name) => new LibsignalParty(name));
  const s = args.seconds;
  const out: Figure[] = [];
  const figures: [string, string, () => Promise<void>, () => Promise<void>][] = [
    ['ratchet.session_setup', 'sessions/s', parley.setup, signal.setup],
    ['ratchet.one_way_200B', 'pairs/s', parley.oneWay, signal.oneWay],
    ['ratchet.ping_pong_200B', 'pairs/s', parley.pingPong, signal.pingPong],
  ];
  const cpuRatios: string[] = [];
  for (const [name, unit, ours, theirs] of figures) {
    const { wall, cpu } = await alternatingRates(s, ours, theirs);
    out.push(report(name, wall[0], unit, wall[1]));
    cpuRatios.push(`${name} ${(cpu[0] / cpu[1]).toFixed(2)}`);
  }
  process.stderr.write(`ratios per CPU second (steadier under load): ${cpuRatios.join(', ')}\n`);
  process.stderr.write('baseline: @signalapp/libsignal-client with serialising in-memory stores\n');
  process.stderr.write(
    `parley: provider ${parleyProviderName} on Node.js ${process.version}, OpenSSL ${process.versions.openssl}\n`,
  );
  if (!parleyProviderName.includes('openssl-mlkem'))
    process.stderr.write(
      "parley: this runtime's OpenSSL has no ML-KEM, so noble's pure-JS ML-KEM runs (about 40 % of a setup); on Node.js 24 (.nvmrc) session setup is about twice as fast: bench/RESULTS.md\n",
    );
  return out;
}
