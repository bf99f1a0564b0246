/**
 * `npm run bench -- ratchet [--seconds S]`: session setup per second, steady one-way
 * encrypt+decrypt pairs per second (200-byte message), and ping-pong pairs per second (every
 * message forces a DH ratchet step), for Parley and for libsignal-client in the same run. A setup
 * creates a fresh initiator device, a bundle with one-time EC and ML-KEM prekeys, the initiator's
 * session, its first message, and the responder's decryption of it.
 */
import { LibsignalParty } from './libsignal-baseline.ts';
import { createParleyParty } from './parley-party.ts';
import { type Figure, rate, report } from './report.ts';

interface Impl {
  setup(i: number): Promise<void>;
  oneWay(): Promise<void>;
  pingPong(): Promise<void>;
}

async function parleyImpl(): Promise<Impl> {
  const bob = await createParleyParty('bob');
  const alice = await createParleyParty('alice');
  await alice.startSession(bob);
  await bob.decrypt(alice, await alice.encrypt(bob, new Uint8Array(200)));
  await alice.decrypt(bob, await bob.encrypt(alice, new Uint8Array(200)));
  const msg = new Uint8Array(200).fill(7);
  let turn = false;
  return {
    async setup(i) {
      const a = await createParleyParty(`alice${i}`);
      await a.startSession(bob);
      await bob.decrypt(a, await a.encrypt(bob, msg));
    },
    async oneWay() {
      await bob.decrypt(alice, await alice.encrypt(bob, msg));
    },
    async pingPong() {
      turn = !turn;
      const [from, to] = turn ? [alice, bob] : [bob, alice];
      await to.decrypt(from, await from.encrypt(to, msg));
    },
  };
}

async function libsignalImpl(): Promise<Impl> {
  const bob = new LibsignalParty('bob');
  const alice = new LibsignalParty('alice');
  await alice.startSession(bob);
  await bob.decrypt(alice, await alice.encrypt(bob, new Uint8Array(200)));
  await alice.decrypt(bob, await bob.encrypt(alice, new Uint8Array(200)));
  const msg = new Uint8Array(200).fill(7);
  let turn = false;
  let n = 0;
  return {
    async setup() {
      const a = new LibsignalParty(`alice${n++}`);
      await a.startSession(bob);
      await bob.decrypt(a, await a.encrypt(bob, msg));
    },
    async oneWay() {
      await bob.decrypt(alice, await alice.encrypt(bob, msg));
    },
    async pingPong() {
      turn = !turn;
      const [from, to] = turn ? [alice, bob] : [bob, alice];
      await to.decrypt(from, await from.encrypt(to, msg));
    },
  };
}

/** Runs the ratchet benchmark and returns its figures. */
export async function runRatchet(args: { seconds: number }): Promise<Figure[]> {
  const parley = await parleyImpl();
  const signal = await libsignalImpl();
  const s = args.seconds;
  const out: Figure[] = [];
  let i = 0;
  let j = 0;
  const pSetup = await rate(s, () => parley.setup(i++));
  const lSetup = await rate(s, () => signal.setup(j++));
  out.push(report('ratchet.session_setup', pSetup, 'sessions/s', lSetup));
  const pOne = await rate(s, parley.oneWay);
  const lOne = await rate(s, signal.oneWay);
  out.push(report('ratchet.one_way_200B', pOne, 'pairs/s', lOne));
  const pPing = await rate(s, parley.pingPong);
  const lPing = await rate(s, signal.pingPong);
  out.push(report('ratchet.ping_pong_200B', pPing, 'pairs/s', lPing));
  process.stderr.write('baseline: @signalapp/libsignal-client with serialising in-memory stores\n');
  return out;
}
