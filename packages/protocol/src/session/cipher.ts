/**
 * The store-backed session API the client uses: start a session from a prekey bundle, encrypt
 * to an address, decrypt from an address. Each call reads the stores, computes the whole result,
 * and writes only after success, so a failure of any kind leaves every store unchanged.
 */
import { constantTimeEqual } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { isProtocolError, ProtocolError } from '../errors.ts';
import { decodeDeviceIdentityPublic } from '../keys/identity.ts';
import { initiate, type PreKeyAgeCheck, respond } from '../pqxdh/pqxdh.ts';
import type { RandomSource } from '../random.ts';
import { ratchetDecrypt, ratchetEncrypt } from '../ratchet/ratchet.ts';
import type { SessionState } from '../ratchet/state.ts';
import type { IdentityStore, PreKeyStore, ProtocolAddress, SessionStore } from '../stores/stores.ts';
import { peekMessageType } from '../wire/envelope.ts';
import { decodeInitialMessage, encodeInitialMessage, type InitialMessage } from '../wire/initial-message.ts';
import { decodePreKeyBundle, type PreKeyBundle } from '../wire/prekey-bundle.ts';
import { archiveState, emptySessionRecord, newStateWinsTie, promoteState, type SessionRecord } from './record.ts';

/** What every session call needs: primitives, randomness and the three stores. */
export interface SessionContext {
  readonly provider: CryptoProvider;
  readonly random: RandomSource;
  readonly identityStore: IdentityStore;
  readonly preKeyStore: PreKeyStore;
  readonly sessionStore: SessionStore;
}

/** An encrypted message ready for the transport. */
export interface EncryptedMessage {
  readonly type: 'initial' | 'ratchet';
  readonly body: Uint8Array;
}

async function assertTrusted(ctx: SessionContext, address: ProtocolAddress, identityBytes: Uint8Array): Promise<void> {
  const identity = decodeDeviceIdentityPublic(identityBytes);
  if (!(await ctx.identityStore.isTrustedIdentity(address, identity))) {
    throw new ProtocolError('UNTRUSTED_IDENTITY', 'the remote device identity changed and is not trusted');
  }
}

/**
 * One read-modify-write of a session record at a time per address and session store: each
 * operation below loads the record, awaits (crypto, identity checks) and stores it. Run side by
 * side (a client decrypting a delivery while its outbox encrypts to the same device), the later
 * store overwrote the earlier one: an encryption reused a sending counter the peer had already
 * consumed, and the peer dropped that message as a duplicate (an acknowledged message lost).
 */
const sessionLocks = new WeakMap<SessionStore, Map<string, Promise<unknown>>>();

function withSessionLock<T>(ctx: SessionContext, address: ProtocolAddress, run: () => Promise<T>): Promise<T> {
  let locks = sessionLocks.get(ctx.sessionStore);
  if (locks === undefined) {
    locks = new Map();
    sessionLocks.set(ctx.sessionStore, locks);
  }
  const key = `${address.account}\u0000${address.device}`;
  const before = locks.get(key) ?? Promise.resolve();
  const result = before.then(run, run);
  const tail = result.then(
    () => undefined,
    () => undefined,
  );
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return result;
}

/**
 * Verifies `bundle` (PQXDH §3.3; its prekeys' signed creation times against `age`, else
 * `STALE_PREKEY`) and makes a new initiating session the current one for `address`. Refuses an
 * identity that differs from a stored, untrusted one.
 */
export function processPreKeyBundle(
  ctx: SessionContext,
  address: ProtocolAddress,
  bundle: PreKeyBundle | Uint8Array,
  age: PreKeyAgeCheck,
): Promise<void> {
  return withSessionLock(ctx, address, () => processPreKeyBundleNow(ctx, address, bundle, age));
}

async function processPreKeyBundleNow(
  ctx: SessionContext,
  address: ProtocolAddress,
  bundle: PreKeyBundle | Uint8Array,
  age: PreKeyAgeCheck,
): Promise<void> {
  const decoded = bundle instanceof Uint8Array ? decodePreKeyBundle(bundle) : bundle;
  await assertTrusted(ctx, address, decoded.identity);
  const ours = await ctx.identityStore.getLocalIdentity();
  const state = await initiate(ctx.provider, ctx.random, ours, decoded, age);
  const record = (await ctx.sessionStore.loadSession(address)) ?? emptySessionRecord();
  await ctx.identityStore.saveRemoteIdentity(address, decodeDeviceIdentityPublic(decoded.identity));
  await ctx.sessionStore.storeSession(address, promoteState(record, state));
}

/** True when a usable session exists for `address`. */
export async function hasSession(ctx: SessionContext, address: ProtocolAddress): Promise<boolean> {
  return (await ctx.sessionStore.loadSession(address))?.current !== undefined;
}

/**
 * Encrypts `plaintext` with the current session for `address`; while the session is
 * unanswered the ratchet message travels inside an initial message (PQXDH §3.3).
 */
export function encrypt(
  ctx: SessionContext,
  address: ProtocolAddress,
  plaintext: Uint8Array,
): Promise<EncryptedMessage> {
  return withSessionLock(ctx, address, () => encryptNow(ctx, address, plaintext));
}

async function encryptNow(
  ctx: SessionContext,
  address: ProtocolAddress,
  plaintext: Uint8Array,
): Promise<EncryptedMessage> {
  const record = await ctx.sessionStore.loadSession(address);
  const current = record?.current;
  if (record === undefined || current === undefined) throw new ProtocolError('NO_SESSION', 'no session for address');
  await assertTrusted(ctx, address, current.remoteIdentity);
  const { state, message } = await ratchetEncrypt(ctx.provider, current, plaintext);
  await ctx.sessionStore.storeSession(address, { ...record, current: state });
  const p = state.pendingInitial;
  if (p === undefined) return { type: 'ratchet', body: message };
  const initial: InitialMessage = {
    senderIdentity: state.localIdentity,
    recipientSigningKey: p.recipientSigningKey,
    signedPreKeyId: p.signedPreKeyId,
    oneTimePreKeyId: p.oneTimePreKeyId,
    kemPreKeyId: p.kemPreKeyId,
    baseKey: p.baseKey,
    kemCiphertext: p.kemCiphertext,
    message,
  };
  return { type: 'initial', body: encodeInitialMessage(initial) };
}

/** Decrypts an initial or ratchet message from `address`. */
export function decrypt(ctx: SessionContext, address: ProtocolAddress, body: Uint8Array): Promise<Uint8Array> {
  return withSessionLock(ctx, address, () =>
    peekMessageType(body) === 'initial'
      ? decryptInitial(ctx, address, decodeInitialMessage(body))
      : decryptRatchet(ctx, address, body),
  );
}

async function decryptRatchet(ctx: SessionContext, address: ProtocolAddress, body: Uint8Array): Promise<Uint8Array> {
  const record = await ctx.sessionStore.loadSession(address);
  if (record?.current === undefined) throw new ProtocolError('NO_SESSION', 'no session for address');
  const candidates = [record.current, ...record.previous];
  let firstError: unknown;
  for (const candidate of candidates) {
    try {
      await assertTrusted(ctx, address, candidate.remoteIdentity);
      const { state, plaintext } = await ratchetDecrypt(ctx.provider, ctx.random, candidate, body);
      await ctx.sessionStore.storeSession(address, replaceState(record, candidate, state));
      return plaintext;
    } catch (err) {
      if (!isProtocolError(err)) throw err;
      // A duplicate on any state is the most precise answer; otherwise report the current state's error.
      if (err.code === 'DUPLICATE_MESSAGE' || err.code === 'UNTRUSTED_IDENTITY') throw err;
      firstError ??= err;
    }
  }
  throw firstError;
}

async function decryptInitial(ctx: SessionContext, address: ProtocolAddress, m: InitialMessage): Promise<Uint8Array> {
  const ours = await ctx.identityStore.getLocalIdentity();
  if (!constantTimeEqual(m.recipientSigningKey, ours.publicIdentity.signingKey)) {
    throw new ProtocolError('WRONG_RECIPIENT', 'initial message is addressed to another device');
  }
  await assertTrusted(ctx, address, m.senderIdentity);
  const record = (await ctx.sessionStore.loadSession(address)) ?? emptySessionRecord();
  // A repeat of an initial message whose session we already hold: just the ratchet message.
  const existing = [record.current, ...record.previous].find(
    (s): s is SessionState =>
      s !== undefined &&
      !s.initiator &&
      constantTimeEqual(s.baseKey, m.baseKey) &&
      constantTimeEqual(s.remoteIdentity, m.senderIdentity),
  );
  if (existing !== undefined) {
    const { state, plaintext } = await ratchetDecrypt(ctx.provider, ctx.random, existing, m.message);
    await ctx.sessionStore.storeSession(address, replaceState(record, existing, state));
    return plaintext;
  }

  const signedPreKey = await ctx.preKeyStore.getSignedPreKey(m.signedPreKeyId);
  const kemPreKey = await ctx.preKeyStore.getKemPreKey(m.kemPreKeyId);
  const oneTimePreKey =
    m.oneTimePreKeyId === undefined ? undefined : await ctx.preKeyStore.getOneTimePreKey(m.oneTimePreKeyId);
  if (signedPreKey === undefined || kemPreKey === undefined || (m.oneTimePreKeyId !== undefined && !oneTimePreKey)) {
    throw new ProtocolError('UNKNOWN_PREKEY', 'initial message refers to a prekey we do not hold');
  }
  const { state, plaintext } = await respond(ctx.provider, ctx.random, ours, m, {
    signedPreKey,
    oneTimePreKey,
    kemPreKey,
  });

  // All checks passed: now write. The replay record goes first so a replay writes nothing else.
  if (
    oneTimePreKey === undefined &&
    !(await ctx.preKeyStore.recordBaseKeyUse(signedPreKey.id, kemPreKey.id, m.baseKey))
  ) {
    throw new ProtocolError('REPLAYED_INITIAL_MESSAGE', 'initial message base key was already used');
  }
  if (oneTimePreKey !== undefined) await ctx.preKeyStore.removeOneTimePreKey(oneTimePreKey.id);
  if (!kemPreKey.lastResort) await ctx.preKeyStore.removeKemPreKey(kemPreKey.id);
  await ctx.identityStore.saveRemoteIdentity(address, decodeDeviceIdentityPublic(m.senderIdentity));
  const next = newStateWinsTie(record.current, state) ? promoteState(record, state) : archiveState(record, state);
  await ctx.sessionStore.storeSession(address, next);
  return plaintext;
}

function replaceState(record: SessionRecord, old: SessionState, next: SessionState): SessionRecord {
  if (record.current === old) return { ...record, current: next };
  return { ...record, previous: record.previous.map((s) => (s === old ? next : s)) };
}
