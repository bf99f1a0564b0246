/**
 * The Double Ratchet session state (DR §3.2) as plain data. Functions in `ratchet.ts` take a
 * state and return a new one; nothing here is mutated after construction.
 */

import type { DhKeyPair } from '../keys/random-key.ts';

/** Sending chain: chain key CKs and the number Ns of the next message. */
export interface SendingChain {
  readonly chainKey: Uint8Array;
  readonly index: number;
}

/** Receiving chain: the remote ratchet key DHr, chain key CKr and the next expected number Nr. */
export interface ReceivingChain {
  readonly ratchetKey: Uint8Array;
  readonly chainKey: Uint8Array;
  readonly index: number;
}

/** A stored key of a message not yet received (DR §3.2 MKSKIPPED), oldest first in the list. */
export interface SkippedKey {
  readonly ratchetKey: Uint8Array;
  readonly index: number;
  readonly messageKey: Uint8Array;
}

/**
 * What an initiator sends with every message until the first reply (PQXDH §3.3), so the
 * responder can run PQXDH on whichever of those messages arrives first.
 */
export interface PendingInitial {
  readonly recipientSigningKey: Uint8Array;
  readonly signedPreKeyId: number;
  readonly oneTimePreKeyId: number | undefined;
  readonly kemPreKeyId: number;
  readonly baseKey: Uint8Array;
  readonly kemCiphertext: Uint8Array;
}

/** One Double Ratchet session between two devices. */
export interface SessionState {
  readonly version: 1;
  /** Our encoded DeviceIdentityPublic (128 bytes). */
  readonly localIdentity: Uint8Array;
  /** The peer's encoded DeviceIdentityPublic (128 bytes). */
  readonly remoteIdentity: Uint8Array;
  /** PQXDH associated data: initiator identity ‖ responder identity. */
  readonly associatedData: Uint8Array;
  /** The initiator's PQXDH base key: identifies the session for simultaneous-initiation ties. */
  readonly baseKey: Uint8Array;
  /** True when this side ran the initiator half of PQXDH. */
  readonly initiator: boolean;
  readonly rootKey: Uint8Array;
  readonly sendingRatchetKey: DhKeyPair;
  readonly sendingChain: SendingChain | undefined;
  readonly receivingChain: ReceivingChain | undefined;
  /** PN: the length of the previous sending chain. */
  readonly previousCounter: number;
  /** Remote ratchet keys of finished receiving chains, newest last (replay detection). */
  readonly previousRatchetKeys: readonly Uint8Array[];
  readonly skippedKeys: readonly SkippedKey[];
  /** Present on the initiator's side until the first message from the peer decrypts. */
  readonly pendingInitial: PendingInitial | undefined;
}

/** MAX_SKIP (DR §3.2): the most message keys one received message may make us skip in a chain. */
export const MAX_SKIP_PER_CHAIN = 2000;
/** Bound on stored skipped keys per session; the oldest are discarded beyond it. */
export const MAX_SKIPPED_KEYS = 2000;
/** How many finished remote ratchet keys are remembered to classify replays. */
export const MAX_PREVIOUS_RATCHET_KEYS = 8;
