/**
 * The Double Ratchet (Signal, "The Double Ratchet Algorithm", §3): initialisation of both sides,
 * RatchetEncrypt and RatchetDecrypt with skipped message keys. Pure: state in, state out; a
 * failure throws a `ProtocolError` and the caller keeps its previous state.
 */
import { assertBytes, concatBytes, constantTimeEqual } from '../bytes.ts';
import type { CryptoProvider } from '../crypto/provider.ts';
import { ProtocolError } from '../errors.ts';
import { type DhKeyPair, generateDhKeyPair } from '../keys/random-key.ts';
import type { RandomSource } from '../random.ts';
import {
  decodeRatchetMessage,
  encodeRatchetHeader,
  encodeRatchetMessage,
  type RatchetMessage,
  ratchetHeaderAssociatedData,
} from '../wire/ratchet-message.ts';
import { kdfChainKey, kdfRootKey, messageKeyMaterial } from './kdf.ts';
import {
  MAX_PREVIOUS_RATCHET_KEYS,
  MAX_SKIP_PER_CHAIN,
  MAX_SKIPPED_KEYS,
  type ReceivingChain,
  type SessionState,
  type SkippedKey,
} from './state.ts';

/** The identity and PQXDH facts both initialisations need. */
export interface RatchetInit {
  readonly sharedSecret: Uint8Array;
  readonly localIdentity: Uint8Array;
  readonly remoteIdentity: Uint8Array;
  readonly associatedData: Uint8Array;
  readonly baseKey: Uint8Array;
}

/**
 * RatchetInitAlice (DR §3.3): the initiator ratchets once against the responder's signed
 * prekey, which serves as the responder's first ratchet key.
 */
export async function initSender(
  provider: CryptoProvider,
  random: RandomSource,
  init: RatchetInit & { remoteRatchetKey: Uint8Array; pendingInitial: SessionState['pendingInitial'] },
): Promise<SessionState> {
  const sendingRatchetKey = await generateDhKeyPair(provider, random);
  const dh = await provider.x25519(sendingRatchetKey.privateKey, init.remoteRatchetKey);
  const { rootKey, chainKey } = await kdfRootKey(provider, init.sharedSecret, dh);
  return {
    version: 1,
    localIdentity: init.localIdentity,
    remoteIdentity: init.remoteIdentity,
    associatedData: init.associatedData,
    baseKey: init.baseKey,
    initiator: true,
    rootKey,
    sendingRatchetKey,
    sendingChain: { chainKey, index: 0 },
    receivingChain: undefined,
    previousCounter: 0,
    previousRatchetKeys: [init.remoteRatchetKey],
    skippedKeys: [],
    pendingInitial: init.pendingInitial,
  };
}

/** RatchetInitBob (DR §3.3): the responder's first ratchet key pair is its signed prekey. */
export function initReceiver(init: RatchetInit & { signedPreKey: DhKeyPair }): SessionState {
  return {
    version: 1,
    localIdentity: init.localIdentity,
    remoteIdentity: init.remoteIdentity,
    associatedData: init.associatedData,
    baseKey: init.baseKey,
    initiator: false,
    rootKey: init.sharedSecret,
    sendingRatchetKey: init.signedPreKey,
    sendingChain: undefined,
    receivingChain: undefined,
    previousCounter: 0,
    previousRatchetKeys: [],
    skippedKeys: [],
    pendingInitial: undefined,
  };
}

/**
 * RatchetEncrypt (DR §3.4): derives the next sending message key and encrypts `plaintext` under
 * AES-256-GCM with AD ‖ header. Returns the new state and the encoded ratchet message.
 */
export async function ratchetEncrypt(
  provider: CryptoProvider,
  state: SessionState,
  plaintext: Uint8Array,
): Promise<{ state: SessionState; message: Uint8Array }> {
  assertBytes('plaintext', plaintext);
  const chain = state.sendingChain;
  if (chain === undefined) {
    throw new ProtocolError('NO_SESSION', 'session cannot send before it has received a message');
  }
  const { messageKey, chainKey } = await kdfChainKey(provider, chain.chainKey);
  const headerBytes = encodeRatchetHeader({
    ratchetKey: state.sendingRatchetKey.publicKey,
    counter: chain.index,
    previousCounter: state.previousCounter,
  });
  const { key, nonce } = await messageKeyMaterial(provider, messageKey);
  const aad = concatBytes(state.associatedData, ratchetHeaderAssociatedData(headerBytes));
  const ciphertext = await provider.aesGcmEncrypt(key, nonce, plaintext, aad);
  return {
    state: { ...state, sendingChain: { chainKey, index: chain.index + 1 } },
    message: encodeRatchetMessage({ headerBytes, ciphertext }),
  };
}

/**
 * RatchetDecrypt (DR §3.5) of an encoded ratchet message: tries a stored skipped key, else
 * advances the current receiving chain, else performs a DH ratchet step. Throws
 * `DUPLICATE_MESSAGE`, `TOO_MANY_SKIPPED_MESSAGES` or `DECRYPTION_FAILED`; returns a new state only on success.
 */
export async function ratchetDecrypt(
  provider: CryptoProvider,
  random: RandomSource,
  state: SessionState,
  messageBytes: Uint8Array,
): Promise<{ state: SessionState; plaintext: Uint8Array }> {
  const message = decodeRatchetMessage(messageBytes);
  const { header } = message;

  const skippedIndex = state.skippedKeys.findIndex(
    (s) => s.index === header.counter && constantTimeEqual(s.ratchetKey, header.ratchetKey),
  );
  if (skippedIndex >= 0) {
    const skipped = state.skippedKeys[skippedIndex] as SkippedKey;
    const plaintext = await openMessage(provider, state, skipped.messageKey, message);
    const skippedKeys = state.skippedKeys.filter((_, i) => i !== skippedIndex);
    return { state: { ...state, skippedKeys, pendingInitial: undefined }, plaintext };
  }

  let working = state;
  let receiving = state.receivingChain;
  const newSkipped: SkippedKey[] = [];
  if (receiving === undefined || !constantTimeEqual(receiving.ratchetKey, header.ratchetKey)) {
    if (state.previousRatchetKeys.some((k) => constantTimeEqual(k, header.ratchetKey))) {
      throw new ProtocolError('DUPLICATE_MESSAGE', 'message belongs to a finished chain and its key is gone');
    }
    // Keys of the old chain the sender still reports as sent (DR §3.5 SkipMessageKeys(state, header.pn)).
    // Deviation (docs/protocol.md §3): when the old chain's remainder exceeds MAX_SKIP the old
    // chain is abandoned instead of failing, so a session that once refused a huge skip can heal.
    if (receiving !== undefined && header.previousCounter - receiving.index <= MAX_SKIP_PER_CHAIN) {
      receiving = await skipKeys(provider, receiving, header.previousCounter, newSkipped);
    }
    working = await dhRatchetStep(provider, random, working, header.ratchetKey);
    receiving = working.receivingChain as ReceivingChain;
  }
  if (header.counter < receiving.index) {
    throw new ProtocolError('DUPLICATE_MESSAGE', 'message key already used');
  }
  receiving = await skipKeys(provider, receiving, header.counter, newSkipped);
  const { messageKey, chainKey } = await kdfChainKey(provider, receiving.chainKey);
  const plaintext = await openMessage(provider, working, messageKey, message);

  let skippedKeys: readonly SkippedKey[] = state.skippedKeys;
  if (newSkipped.length > 0) {
    const all = skippedKeys.concat(newSkipped);
    skippedKeys = all.length > MAX_SKIPPED_KEYS ? all.slice(all.length - MAX_SKIPPED_KEYS) : all;
  }
  return {
    state: {
      ...working,
      receivingChain: { ratchetKey: receiving.ratchetKey, chainKey, index: receiving.index + 1 },
      skippedKeys,
      pendingInitial: undefined,
    },
    plaintext,
  };
}

/** SkipMessageKeys (DR §3.5): derives and records keys up to (not including) `until`. */
async function skipKeys(
  provider: CryptoProvider,
  chain: ReceivingChain,
  until: number,
  out: SkippedKey[],
): Promise<ReceivingChain> {
  if (until - chain.index > MAX_SKIP_PER_CHAIN) {
    throw new ProtocolError('TOO_MANY_SKIPPED_MESSAGES', `message would skip more than ${MAX_SKIP_PER_CHAIN} keys`);
  }
  let chainKey = chain.chainKey;
  let index = chain.index;
  while (index < until) {
    const step = await kdfChainKey(provider, chainKey);
    out.push({ ratchetKey: chain.ratchetKey, index, messageKey: step.messageKey });
    chainKey = step.chainKey;
    index++;
  }
  return { ratchetKey: chain.ratchetKey, chainKey, index };
}

/** DHRatchet (DR §3.5): new receiving chain from the peer's key, then a fresh sending key pair and chain. */
async function dhRatchetStep(
  provider: CryptoProvider,
  random: RandomSource,
  state: SessionState,
  remoteKey: Uint8Array,
): Promise<SessionState> {
  const dhIn = await provider.x25519(state.sendingRatchetKey.privateKey, remoteKey);
  const recv = await kdfRootKey(provider, state.rootKey, dhIn);
  const sendingRatchetKey = await generateDhKeyPair(provider, random);
  const dhOut = await provider.x25519(sendingRatchetKey.privateKey, remoteKey);
  const send = await kdfRootKey(provider, recv.rootKey, dhOut);
  const previous = state.receivingChain
    ? state.previousRatchetKeys.concat([state.receivingChain.ratchetKey]).slice(-MAX_PREVIOUS_RATCHET_KEYS)
    : state.previousRatchetKeys;
  return {
    ...state,
    rootKey: send.rootKey,
    sendingRatchetKey,
    sendingChain: { chainKey: send.chainKey, index: 0 },
    receivingChain: { ratchetKey: remoteKey, chainKey: recv.chainKey, index: 0 },
    previousCounter: state.sendingChain?.index ?? 0,
    previousRatchetKeys: previous,
  };
}

async function openMessage(
  provider: CryptoProvider,
  state: SessionState,
  messageKey: Uint8Array,
  message: RatchetMessage,
): Promise<Uint8Array> {
  const { key, nonce } = await messageKeyMaterial(provider, messageKey);
  const aad = concatBytes(state.associatedData, ratchetHeaderAssociatedData(message.headerBytes));
  const plaintext = await provider.aesGcmDecrypt(key, nonce, message.ciphertext, aad);
  if (plaintext === null) throw new ProtocolError('DECRYPTION_FAILED', 'message authentication failed');
  return plaintext;
}
