/**
 * Known answers for a whole conversation between two devices (docs/protocol.md §3–§5), from
 * fixed keys and randomness, through the store-backed session API: the initial and ratchet
 * messages on the wire and the session records stored on both sides, chosen so that every
 * field of the record encoding is set somewhere (pending initial message, skipped keys,
 * previous ratchet keys, a previous state).
 *
 * The conversation: Alice starts a session from Bob's bundle and sends a1, a2, a3 (initial
 * messages); Bob receives a3 first (keeping the keys of a1 and a2), then a1; Bob replies b1;
 * Alice receives it and sends a4, which Bob receives. a2 is never delivered: its key stays in
 * Bob's final record, and the test opens the frozen a2 with the frozen record.
 */
import {
  type CryptoProvider,
  decodeSessionRecord,
  decrypt,
  encodeSessionRecord,
  encrypt,
  type MemorySessionStore,
  type ProtocolAddress,
  processPreKeyBundle,
  type SessionContext,
  utf8,
} from '../../src/index.ts';
import { deviceFrom, fixedBytes, type Hex, makeDeviceSeeds, toHex } from './kit.ts';
import {
  ALICE,
  BOB,
  bundleOf,
  contextOf,
  type ResponderInputs,
  responder,
  responderPreKeyStore,
} from './pqxdh.vectors.ts';

export const about =
  'Ratchet messages and session records of a fixed two-device conversation (docs/protocol.md §4, §5).';

export interface SessionInputs extends ResponderInputs {
  readonly alice: ReturnType<typeof makeDeviceSeeds>;
  /** EK_A, encapsulation randomness, first ratchet key, the ratchet key of Alice's step on b1. */
  readonly aliceDraws: readonly [Hex, Hex, Hex, Hex];
  /** Bob's ratchet keys: of his step on a3 (in PQXDH's response), and of his step on a4. */
  readonly bobDraws: readonly [Hex, Hex];
  readonly texts: {
    readonly a1: string;
    readonly a2: string;
    readonly a3: string;
    readonly b1: string;
    readonly a4: string;
  };
}

export function makeInputs(): SessionInputs {
  return {
    alice: makeDeviceSeeds('session/alice'),
    bob: makeDeviceSeeds('session/bob'),
    signedPreKey: { id: 5, privateKey: fixedBytes('session/bob/signed-prekey', 32), createdAt: 1767225600000 },
    oneTimePreKey: { id: 77, privateKey: fixedBytes('session/bob/one-time-prekey', 32) },
    kemPreKey: { id: 88, seed: fixedBytes('session/bob/kem-prekey', 64) },
    lastResortKemPreKey: { id: 1000, seed: fixedBytes('session/bob/last-resort-kem-prekey', 64) },
    aliceDraws: [
      fixedBytes('session/alice/ephemeral', 32),
      fixedBytes('session/alice/kem-randomness', 32),
      fixedBytes('session/alice/ratchet-1', 32),
      fixedBytes('session/alice/ratchet-2', 32),
    ],
    bobDraws: [fixedBytes('session/bob/ratchet-1', 32), fixedBytes('session/bob/ratchet-2', 32)],
    texts: { a1: 'first', a2: 'second, never delivered', a3: 'third', b1: 'a reply from Bob', a4: 'fourth' },
  };
}

/** The stored bytes of a memory session store's record for `address`. */
export function storedRecord(store: MemorySessionStore, address: ProtocolAddress): Uint8Array {
  const bytes = store.snapshot().get(`${address.account}.${address.device}`);
  if (bytes === undefined) throw new Error('no stored record');
  return bytes;
}

async function expectText(ctx: SessionContext, from: ProtocolAddress, body: Uint8Array, text: string): Promise<void> {
  const plaintext = new TextDecoder().decode(await decrypt(ctx, from, body));
  if (plaintext !== text) throw new Error('a message of the conversation did not decrypt to its text');
}

/** Plays the conversation and returns every message and the records named in the module comment. */
export async function build(provider: CryptoProvider, inputs: SessionInputs): Promise<Record<string, string>> {
  const bob = await responder(provider, inputs);
  const alice = contextOf(provider, await deviceFrom(provider, inputs.alice), inputs.aliceDraws);
  const bobCtx = contextOf(provider, bob.identity, inputs.bobDraws, responderPreKeyStore(bob));
  const t = inputs.texts;
  const aliceStore = alice.sessionStore;
  const bobStore = bobCtx.sessionStore;

  await processPreKeyBundle(alice, BOB, bundleOf(bob, 'oneTime'), { now: inputs.signedPreKey.createdAt });
  const a1 = await encrypt(alice, BOB, utf8(t.a1));
  const a2 = await encrypt(alice, BOB, utf8(t.a2));
  const a3 = await encrypt(alice, BOB, utf8(t.a3));
  const alicePending = storedRecord(aliceStore, BOB);

  await expectText(bobCtx, ALICE, a3.body, t.a3);
  const bobAfterA3 = storedRecord(bobStore, ALICE);
  await expectText(bobCtx, ALICE, a1.body, t.a1);
  const b1 = await encrypt(bobCtx, ALICE, utf8(t.b1));
  await expectText(alice, BOB, b1.body, t.b1);
  const a4 = await encrypt(alice, BOB, utf8(t.a4));
  await expectText(bobCtx, ALICE, a4.body, t.a4);
  if (alice.random.left() !== 0 || bobCtx.random.left() !== 0) throw new Error('fixed draws left unused');

  const aliceFinal = await aliceStore.loadSession(BOB);
  const pending = decodeSessionRecord(alicePending).current;
  if (aliceFinal?.current === undefined || pending === undefined) throw new Error('no session');
  return {
    a1: toHex(a1.body),
    a2: toHex(a2.body),
    a3: toHex(a3.body),
    b1: toHex(b1.body),
    a4: toHex(a4.body),
    alicePendingRecord: toHex(alicePending),
    bobAfterA3Record: toHex(bobAfterA3),
    aliceFinalRecord: toHex(storedRecord(aliceStore, BOB)),
    bobFinalRecord: toHex(storedRecord(bobStore, ALICE)),
    // Hand-assembled, as simultaneous initiation leaves it: one current and one previous state.
    aliceWithPreviousRecord: toHex(
      encodeSessionRecord({ version: 1, current: aliceFinal.current, previous: [pending] }),
    ),
  };
}
