/**
 * Key transparency on the client (docs/protocol.md §20), with no user action: the
 * directory keys are pinned (at registration; an account registered before the server had a
 * directory pins them on first connect, trust on first use, and says so), every served key of
 * another account is checked against a lookup proof, every new head against the one held, our
 * own entry is monitored, and heads are gossiped inside encrypted contents.
 *
 * A server that never announced a directory key (an older server) is served as before: nothing
 * is checked, and `directoryStatus()` says so. Once a key is pinned, an answer without a proof is
 * refused: a server cannot switch verification off by going quiet.
 */
import {
  type CryptoProvider,
  constantTimeEqual,
  fromBase64Url,
  type SignedDeviceList,
  toBase64Url,
} from '@parley/protocol';
import { decodeSignedTreeHead, type SignedTreeHead, treeHeadHash } from '@parley/protocol/kt';
import { deviceListHash } from '../directory/list-claims.ts';
import { ClientError, isClientError } from '../errors.ts';
import type { EventHub } from '../events.ts';
import type { KtEvidence, KtPins, KtStore, SelfCheck } from './kt-store.ts';
import {
  checkHeadStep,
  parseConsistencyProof,
  parseLookupAnswer,
  parseSignedHead,
  type VerifiedLookup,
  verifyLookupAgainst,
} from './verify.ts';
import { countCosignatures } from './witnesses.ts';

/** How the client reaches the directory ops (`kt-head`, `kt-lookup`); undefined while offline. */
export interface KtTransport {
  head(from: number | undefined): Promise<unknown>;
  lookup(name: string): Promise<unknown>;
}

/** Default grace for a value not yet in the directory: a few epochs of the default 10 s. */
export const KT_PENDING_GRACE_MS = 60_000;

/** What the transparency module needs from the client. */
export interface TransparencyDeps {
  readonly provider: CryptoProvider;
  readonly clock: () => number;
  readonly store: KtStore;
  readonly events: EventHub;
  /** False only under `keyTransparency: false` (tests and diagnosis): nothing is checked. */
  readonly enabled: boolean;
  /**
   * How long a served value may stay out of the directory (a new account, a new device list not
   * yet in an epoch) before it is refused; default `KT_PENDING_GRACE_MS`.
   */
  readonly pendingGraceMs?: number;
  transport(): KtTransport | undefined;
  me(): string;
  ownAccountKey(): Uint8Array;
  ownList(): SignedDeviceList;
}

/** What `directoryStatus()` reports. */
export interface DirectoryStatus {
  /** False when the server announced no directory (an older server) or checks are off. */
  readonly active: boolean;
  readonly pinned: { readonly directoryKey: string; readonly tofu: boolean; readonly pinnedAt: number } | undefined;
  readonly head:
    | { readonly epoch: number; readonly timeMs: number; readonly hash: string; readonly cosignatures: number }
    | undefined;
  readonly requireWitnesses: number;
  readonly lastSelfCheck: SelfCheck | undefined;
  readonly evidence: readonly KtEvidence[];
}

/** The key-transparency checks, bound to a home. */
export interface Transparency {
  /** Whether checks are on and a directory key is pinned. */
  active(): boolean;
  /**
   * The register or auth answer named the directory keys (or did not): pins them if none are
   * pinned (`tofu` unless registering); a different key than the pinned one is refused.
   */
  pinFromServer(ktKey: unknown, ktVrfKey: unknown, registering: boolean): void;
  /** Accepts a new signed head (base64url) with its consistency proof; `DIRECTORY_INCONSISTENT` otherwise. */
  acceptHead(head: unknown, proof: unknown, witnesses?: unknown): Promise<SignedTreeHead>;
  /**
   * Checks the `kt` lookup answer that came with `name`'s served key and device list (`'lookup'`:
   * none comes with this answer kind, ask the directory): undefined when inactive;
   * `KEY_NOT_IN_DIRECTORY` when it is missing or does not prove exactly them.
   */
  verifyServed(
    name: string,
    kt: unknown,
    accountKey: Uint8Array,
    deviceList: Uint8Array,
    knownContact?: boolean,
  ): Promise<VerifiedLookup | undefined>;
  /** Looks `name` up (`kt-lookup`) and verifies it without a served value. */
  lookup(name: string): Promise<VerifiedLookup | undefined>;
  /** Checks our own entry (at connect and hourly); emits `directory-mismatch` on a value we did not make. */
  selfCheck(): Promise<SelfCheck | undefined>;
  /**
   * Looks up again every served value taken while not yet in the directory: one that is in it
   * now is settled; one still out after the grace is refused (evidence kept, sends stop, event
   * `directory-refused`). Returns how many are still pending.
   */
  recheckPending(): Promise<number>;
  /** The newest held head, encoded base64url, to gossip inside contents (undefined when none). */
  gossip(): string | undefined;
  /** A peer's authenticated content carried its newest head: compares it with ours. */
  noteGossip(from: string, head: string): Promise<void>;
  /** Throws `DIRECTORY_INCONSISTENT` while sends to `name` are stopped. */
  requireSendable(name: string): void;
  /** The last verified lookup of `name` in this session. */
  lastLookup(name: string): (VerifiedLookup & { readonly at: number }) | undefined;
  status(): DirectoryStatus;
}

/** Creates the transparency checks over `deps`. */
export function createTransparency(deps: TransparencyDeps): Transparency {
  const { provider, store, events, clock } = deps;
  const lookups = new Map<string, VerifiedLookup & { at: number }>();
  const grace = deps.pendingGraceMs ?? KT_PENDING_GRACE_MS;
  /** Served values taken while not yet in the directory: since when, and what was served. */
  const pending = new Map<string, { since: number; accountKey: Uint8Array; deviceList: Uint8Array; known?: boolean }>();
  /** Since when our own entry has been behind our own key and list (a self-check that is pending). */
  let ownPendingSince: number | undefined;
  let latestCosignatures = 0;

  const pins = (): KtPins | undefined => (deps.enabled ? store.pins() : undefined);
  const held = (): { head: SignedTreeHead; bytes: Uint8Array } | undefined => {
    const l = store.latestHead();
    return l && { head: decodeSignedTreeHead(l.head), bytes: l.head };
  };
  const transport = (): KtTransport => {
    const t = deps.transport();
    if (t === undefined) throw new ClientError('SERVER_UNREACHABLE', 'not connected to the server');
    return t;
  };

  const record = (e: Omit<KtEvidence, 'at'>): void => {
    store.addEvidence({ ...e, at: clock() });
  };

  /** A second head for an epoch we hold: evidence of a split view. */
  const splitView = (name: string | undefined, ours: Uint8Array, theirs: Uint8Array, epoch: number): ClientError => {
    record({ kind: 'split-view', name, detail: `two signed heads for epoch ${epoch}`, heads: [ours, theirs] });
    if (name !== undefined) store.block(name, `split view at epoch ${epoch}`);
    events.emit({ type: 'directory-split-view', name, epoch, ours: toBase64Url(ours), theirs: toBase64Url(theirs) });
    return new ClientError(
      'DIRECTORY_INCONSISTENT',
      `the server showed two different directory heads for epoch ${epoch}`,
    );
  };

  const acceptHead = async (
    headIn: unknown,
    proofIn: unknown,
    witnesses?: unknown,
    name?: string,
  ): Promise<SignedTreeHead> => {
    const p = pins();
    if (p === undefined) throw new ClientError('INVALID_ARGUMENT', 'no directory key is pinned');
    const { head, bytes } = parseSignedHead(headIn);
    const proof = parseConsistencyProof(proofIn);
    const current = held();
    try {
      if (current !== undefined && head.head.epoch < current.head.head.epoch) {
        await checkHeadStep(provider, p.directoryKey, undefined, head, []);
        const mine = store.headAt(head.head.epoch);
        if (mine === undefined) {
          throw new ClientError(
            'DIRECTORY_INCONSISTENT',
            `the server went back to epoch ${head.head.epoch} after epoch ${current.head.head.epoch}`,
          );
        }
        if (!constantTimeEqual(mine, bytes)) throw splitView(name, mine, bytes, head.head.epoch);
        return head;
      }
      if (
        current !== undefined &&
        head.head.epoch === current.head.head.epoch &&
        !constantTimeEqual(current.bytes, bytes)
      ) {
        await checkHeadStep(provider, p.directoryKey, undefined, head, []);
        throw splitView(name, current.bytes, bytes, head.head.epoch);
      }
      await checkHeadStep(provider, p.directoryKey, current?.head, head, proof);
    } catch (err) {
      if (isClientError(err, 'DIRECTORY_INCONSISTENT')) {
        if (current !== undefined && !constantTimeEqual(current.bytes, bytes)) {
          record({ kind: 'inconsistent', name, detail: err.message, heads: [current.bytes, bytes] });
        }
        if (name !== undefined) store.block(name, err.message);
      }
      throw err;
    }
    if (witnesses !== undefined) {
      const w = await countCosignatures(provider, p, head, witnesses);
      if (w.required > p.requireWitnesses || w.keys.length > p.witnessKeys.length) {
        store.pin({ ...p, requireWitnesses: w.required, witnessKeys: w.keys });
      }
      const required = Math.max(w.required, p.requireWitnesses);
      if (w.valid < required) {
        throw new ClientError(
          'DIRECTORY_INCONSISTENT',
          `the directory head of epoch ${head.head.epoch} has ${w.valid} valid witness cosignatures, ${required} are required`,
        );
      }
      latestCosignatures = w.valid;
    }
    store.saveHead(head.head.epoch, bytes, clock());
    return head;
  };

  /** The accepted head a lookup answer is against, fetching newer heads as needed. */
  const headFor = async (
    name: string,
    lookupHead: SignedTreeHead,
    lookupBytes: Uint8Array,
  ): Promise<SignedTreeHead | undefined> => {
    let current = held();
    if (current === undefined || lookupHead.head.epoch > current.head.head.epoch) {
      const r = (await transport().head(current?.head.head.epoch)) as Record<string, unknown> | undefined;
      await acceptHead(r?.head, r?.proof, r?.cosignatures === undefined ? undefined : r, name);
      current = held();
    }
    const mine = store.headAt(lookupHead.head.epoch);
    if (mine !== undefined) {
      if (!constantTimeEqual(mine, lookupBytes)) {
        await acceptHead(toBase64Url(lookupBytes), undefined, undefined, name);
      }
      return lookupHead;
    }
    // The directory moved on between the lookup and the head: the caller looks up again.
    if (current !== undefined && lookupHead.head.epoch < current.head.head.epoch) return undefined;
    store.block(name, 'the lookup head is newer than the newest head the server gives');
    throw new ClientError(
      'DIRECTORY_INCONSISTENT',
      `the server's lookup for ${name} is against a head it does not serve`,
    );
  };

  const verify = async (
    name: string,
    answer: unknown,
    served: { accountKey: Uint8Array; deviceList: Uint8Array; known?: boolean } | undefined,
    retry: boolean,
  ): Promise<VerifiedLookup> => {
    const p = pins() as KtPins;
    const lookup = parseLookupAnswer(name, answer);
    const head = await headFor(name, lookup.head, lookup.headBytes);
    if (head === undefined) {
      if (!retry)
        throw new ClientError('DIRECTORY_INCONSISTENT', `the directory kept moving while ${name} was looked up`);
      return verify(name, await transport().lookup(name), served, false);
    }
    const result = verifyLookupAgainst(p.vrfKey, head, name, lookup, served, served?.known === true);
    lookups.set(name, { ...result, at: clock() });
    if (served !== undefined) {
      if (result.status === 'match') pending.delete(name);
      else {
        const since = pending.get(name)?.since ?? clock();
        if (clock() - since > grace) {
          const why = `${name}'s served key or device list stayed out of the directory`;
          refuse(name, why);
          throw new ClientError(
            'KEY_NOT_IN_DIRECTORY',
            `the key the server served for ${name} is not in its directory (${why}); it was not used`,
          );
        }
        pending.set(name, { since, ...served });
      }
    }
    return result;
  };

  /** A served value that never reached the directory: evidence, and sends to `name` stop. */
  const refuse = (name: string, why: string): void => {
    record({ kind: 'mismatch', name, detail: why, heads: [] });
    store.block(name, why);
    pending.delete(name);
    events.emit({
      type: 'directory-refused',
      name,
      message: `${why}: the server may be showing you a key that is not ${name}'s`,
    });
  };

  const requireSendable = (name: string): void => {
    if (!deps.enabled) return;
    const reason = store.blocked(name);
    if (reason !== undefined) {
      throw new ClientError(
        'DIRECTORY_INCONSISTENT',
        `nothing is sent to ${name}: the server's key directory was inconsistent for them (${reason}); see \`parley directory status\``,
      );
    }
  };

  const selfCheck = async (): Promise<SelfCheck | undefined> => {
    if (pins() === undefined) return undefined;
    const me = deps.me();
    const before = store.selfCheck();
    const list = deps.ownList();
    let result: VerifiedLookup;
    let problem: string | undefined;
    try {
      result = await verify(me, await transport().lookup(me), undefined, true);
    } catch (err) {
      if (!isClientError(err, 'KEY_NOT_IN_DIRECTORY')) throw err;
      problem = 'the directory proof for our own account does not verify';
      result = {
        epoch: held()?.head.head.epoch ?? 0,
        status: 'pending',
        version: 0,
        accountKey: undefined,
        deviceListHash: undefined,
      };
    }
    let behind = false;
    if (problem === undefined) {
      if (result.accountKey !== undefined && !constantTimeEqual(result.accountKey, deps.ownAccountKey())) {
        problem = 'another account key is in the directory';
      } else if (
        result.accountKey === undefined ||
        !constantTimeEqual(result.deviceListHash as Uint8Array, deviceListHash(list))
      ) {
        // Not in the directory yet, or our newest list not yet in an epoch: fine for a while.
        behind = true;
        ownPendingSince ??= clock();
        if (clock() - ownPendingSince > grace) {
          problem =
            result.accountKey === undefined
              ? 'our account is not in the directory'
              : 'a device list that is not our current one is in the directory';
        }
      } else if (before?.ok) {
        // Every change of our value is one of our device lists: the value's version may grow by
        // at most as much as our list's did since the last check (a value changed and changed
        // back in between shows as a jump).
        if (result.version < before.version)
          problem = `the directory went back from version ${before.version} to ${result.version}`;
        else if (result.version - before.version > list.version - before.listVersion) {
          problem = `our entry changed ${result.version - before.version} times while our device list changed ${list.version - before.listVersion} times`;
        }
      }
    }
    if (!behind) ownPendingSince = undefined;
    if (behind && problem === undefined) return before;
    const check: SelfCheck = {
      checkedAt: clock(),
      epoch: result.epoch,
      version: result.version,
      listVersion: list.version,
      ok: problem === undefined,
    };
    store.saveSelfCheck(check);
    if (problem !== undefined) {
      const message = `the server is showing others a key that is not yours: ${problem}`;
      record({ kind: 'mismatch', name: me, detail: message, heads: [] });
      events.emit({ type: 'directory-mismatch', message, epoch: result.epoch });
    }
    return check;
  };

  return {
    active: () => pins() !== undefined,
    pinFromServer(ktKey, ktVrfKey, registering) {
      if (typeof ktKey !== 'string' || typeof ktVrfKey !== 'string') return;
      const directoryKey = fromBase64Url('ktKey', ktKey);
      const vrfKey = fromBase64Url('ktVrfKey', ktVrfKey);
      if (directoryKey.length !== 32 || vrfKey.length !== 32) return;
      const p = store.pins();
      if (p === undefined) {
        store.pin({
          directoryKey,
          vrfKey,
          pinnedAt: clock(),
          tofu: !registering,
          witnessKeys: [],
          requireWitnesses: 0,
        });
        if (!registering) events.emit({ type: 'directory-pinned', tofu: true, fingerprint: ktKey });
        return;
      }
      if (!constantTimeEqual(p.directoryKey, directoryKey) || !constantTimeEqual(p.vrfKey, vrfKey)) {
        record({
          kind: 'inconsistent',
          name: undefined,
          detail: 'the server announced another directory key than the pinned one',
          heads: [],
        });
        events.emit({
          type: 'directory-mismatch',
          message: 'the server announced a different key directory than the one pinned',
          epoch: 0,
        });
      }
    },
    acceptHead: (head, proof, witnesses) => acceptHead(head, proof, witnesses),
    async verifyServed(name, kt, accountKey, deviceList, knownContact) {
      if (pins() === undefined) return undefined;
      requireSendable(name);
      const answer = kt === 'lookup' ? await transport().lookup(name) : kt;
      return verify(name, answer, { accountKey, deviceList, known: knownContact === true }, true);
    },
    async lookup(name) {
      if (pins() === undefined) return undefined;
      return verify(name, await transport().lookup(name), undefined, true);
    },
    selfCheck,
    async recheckPending() {
      if (pins() === undefined) return 0;
      for (const [name, p] of [...pending]) {
        try {
          await verify(
            name,
            await transport().lookup(name),
            { accountKey: p.accountKey, deviceList: p.deviceList, known: p.known === true },
            true,
          );
        } catch (err) {
          // Refused (evidence kept, sends stopped) or offline (tried again next time).
          if (!isClientError(err)) throw err;
          if (!isClientError(err, 'SERVER_UNREACHABLE')) pending.delete(name);
        }
      }
      return pending.size;
    },
    gossip() {
      if (pins() === undefined) return undefined;
      const l = store.latestHead();
      return l && toBase64Url(l.head);
    },
    async noteGossip(from, headIn) {
      const p = pins();
      if (p === undefined) return;
      let theirs: { head: SignedTreeHead; bytes: Uint8Array };
      try {
        theirs = parseSignedHead(headIn);
        await checkHeadStep(provider, p.directoryKey, undefined, theirs.head, []);
      } catch {
        // Not a head of our directory (another server's, or garbage from a buggy peer): nothing to compare.
        return;
      }
      let mine = store.headAt(theirs.head.head.epoch);
      const current = held();
      if (mine === undefined && current !== undefined && theirs.head.head.epoch > current.head.head.epoch) {
        // The peer holds a newer head: catch up, then compare.
        const r = (await transport().head(current.head.head.epoch)) as Record<string, unknown> | undefined;
        await acceptHead(r?.head, r?.proof, r?.cosignatures === undefined ? undefined : r, from);
        mine = store.headAt(theirs.head.head.epoch);
      }
      if (mine !== undefined && !constantTimeEqual(mine, theirs.bytes)) {
        splitView(from, mine, theirs.bytes, theirs.head.head.epoch);
      }
    },
    requireSendable,
    lastLookup: (name) => lookups.get(name),
    status() {
      const p = pins();
      const h = held();
      return {
        active: p !== undefined,
        pinned: p && { directoryKey: toBase64Url(p.directoryKey), tofu: p.tofu, pinnedAt: p.pinnedAt },
        head: h && {
          epoch: h.head.head.epoch,
          timeMs: h.head.head.timeMs,
          hash: toBase64Url(treeHeadHash(h.head.head).subarray(0, 16)),
          cosignatures: latestCosignatures,
        },
        requireWitnesses: p?.requireWitnesses ?? 0,
        lastSelfCheck: store.selfCheck(),
        evidence: store.evidence(),
      };
    },
  };
}
