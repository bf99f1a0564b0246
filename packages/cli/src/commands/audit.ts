/**
 * `parley audit --server URL [--state FILE] [--follow] [--witness KEYFILE]` (issue 20): an
 * independent auditor of a server's key directory (docs/operating.md, "Auditing the key
 * directory"). For every epoch it downloads the signed head and the updates the epoch applied
 * (`GET /v1/kt/audit?epoch=N`), replays them on its own copy of the map and checks:
 * - the head is signed by the directory key (pinned on the first run, kept in the state file);
 * - epochs follow one another, each head names the previous one's hash, time never goes back;
 * - the head's log (size, root) is the RFC 9162 tree over exactly the heads verified before it;
 * - each key's version only grows, and a key appears once per epoch;
 * - the replayed map's root equals the signed root (a key removed, or changed outside the
 *   updates, changes the root);
 * - on resuming, the server still serves the last head verified, byte for byte.
 * The state file keeps the pinned key, every verified head's log leaf hash and the map as
 * (key, value hash, version) entries. With `--witness`, each verified head is cosigned with the
 * witness's Ed25519 key and the cosignature POSTed to `/v1/kt/witness`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { fromBase64Url, toBase64Url } from '@parley/protocol';
import {
  cosignTreeHead,
  decodeSignedTreeHead,
  logLeafHash,
  logRoot,
  SparseMerkleMap,
  TREE_HEAD_BODY_LENGTH,
  verifyTreeHead,
} from '@parley/protocol/kt';
import { createNodeCryptoProvider } from '@parley/protocol/node';
import { CliError, EXIT } from '../cli-error.ts';
import type { Flags } from '../flags.ts';

const sha = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'));
const equal = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

/** Which checks run (all by default; tests turn one off to show the attack they stop is real). */
export interface AuditChecks {
  readonly signatures: boolean;
  readonly chain: boolean;
  readonly versions: boolean;
  readonly roots: boolean;
  readonly log: boolean;
}
const ALL_CHECKS: AuditChecks = { signatures: true, chain: true, versions: true, roots: true, log: true };

/** The auditor found the directory inconsistent. */
export class AuditFailure extends Error {
  constructor(
    readonly epoch: number,
    message: string,
  ) {
    super(`epoch ${epoch}: ${message}`);
    this.name = 'AuditFailure';
  }
}

interface State {
  version: 1;
  server: string;
  ktKey: string;
  /** Last verified epoch (-1: none). */
  epoch: number;
  lastHead: string | undefined;
  /** Log leaf hash (hex) of every verified head. */
  leaves: string[];
  /** key hex → [value hash hex, version]. */
  map: Record<string, [string, number]>;
}

export interface AuditOptions {
  readonly server: string;
  readonly stateFile?: string | undefined;
  readonly witnessFile?: string | undefined;
  readonly checks?: Partial<AuditChecks>;
  readonly log?: (line: string) => void;
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new CliError(`cannot reach ${url}: ${(err as Error).message}`, EXIT.unreachable);
  }
  if (!res.ok) throw new CliError(`${url} answered ${res.status}`, EXIT.failure);
  return (await res.json()) as Record<string, unknown>;
}

function loadWitnessSeed(file: string): Uint8Array {
  if (!existsSync(file)) {
    const seed = new Uint8Array(randomBytes(32));
    writeFileSync(file, `${JSON.stringify({ version: 1, seed: toBase64Url(seed) })}\n`, { mode: 0o600, flag: 'wx' });
    return seed;
  }
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { seed?: unknown };
  const seed = fromBase64Url('seed', doc.seed);
  if (seed.length !== 32) throw new CliError(`${file}: not a witness key file`, EXIT.usage);
  return seed;
}

/**
 * Audits every epoch the server has that the state has not seen; resolves to the last epoch
 * verified. Throws `AuditFailure` on any inconsistency (the state keeps the last good epoch).
 */
export async function auditOnce(o: AuditOptions): Promise<number> {
  const checks = { ...ALL_CHECKS, ...o.checks };
  const provider = createNodeCryptoProvider();
  const base = o.server.replace(/\/+$/, '');
  const info = await getJson(`${base}/v1/kt/audit`);
  const serverKey = String(info.ktKey);
  let state: State;
  if (o.stateFile !== undefined && existsSync(o.stateFile)) {
    state = JSON.parse(readFileSync(o.stateFile, 'utf8')) as State;
    if (state.version !== 1) throw new CliError(`${o.stateFile}: unknown state version`, EXIT.usage);
    if (state.ktKey !== serverKey) {
      throw new AuditFailure(
        state.epoch + 1,
        `the server's directory key changed (pinned ${state.ktKey}, now ${serverKey})`,
      );
    }
  } else {
    state = { version: 1, server: base, ktKey: serverKey, epoch: -1, lastHead: undefined, leaves: [], map: {} };
  }
  const ktKey = fromBase64Url('ktKey', state.ktKey);
  const latest = Number(info.latest);
  if (!Number.isSafeInteger(latest) || latest < state.epoch) {
    throw new AuditFailure(state.epoch, `the server's latest epoch (${String(info.latest)}) is behind the audited one`);
  }
  const map = new SparseMerkleMap({ hash: sha });
  const entries = new Map<string, [string, number]>(Object.entries(state.map));
  if (entries.size > 0) {
    map.applyBatch([...entries].map(([k, [v]]) => ({ key: unhex(k), valueHash: unhex(v) })));
  }
  let prev =
    state.lastHead === undefined ? undefined : decodeSignedTreeHead(fromBase64Url('lastHead', state.lastHead)).head;
  if (checks.chain && prev !== undefined && state.lastHead !== undefined) {
    const again = await getJson(`${base}/v1/kt/audit?epoch=${state.epoch}`);
    if (again.head !== state.lastHead) {
      throw new AuditFailure(
        state.epoch,
        'the server now serves another head for an epoch already audited (history rewritten)',
      );
    }
  }
  const leaves = state.leaves.map(unhex);
  const witnessSeed = o.witnessFile === undefined ? undefined : loadWitnessSeed(o.witnessFile);
  const witnessKey = witnessSeed === undefined ? undefined : await provider.ed25519PublicKey(witnessSeed);
  const save = () => {
    if (o.stateFile === undefined) return;
    state.map = Object.fromEntries(entries);
    state.leaves = leaves.map(hex);
    const tmp = `${o.stateFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
    renameSync(tmp, o.stateFile);
  };
  for (let e = state.epoch + 1; e <= latest; e++) {
    const rec = await getJson(`${base}/v1/kt/audit?epoch=${e}`);
    let signed: ReturnType<typeof decodeSignedTreeHead>;
    try {
      signed = decodeSignedTreeHead(fromBase64Url('head', rec.head));
    } catch (err) {
      throw new AuditFailure(e, `malformed head: ${(err as Error).message}`);
    }
    const h = signed.head;
    if (checks.signatures) {
      try {
        await verifyTreeHead(provider, ktKey, signed);
      } catch {
        throw new AuditFailure(e, 'the head signature does not verify under the directory key');
      }
    }
    if (checks.chain) {
      if (h.epoch !== e) throw new AuditFailure(e, `the head says epoch ${h.epoch}`);
      const expected =
        prev === undefined
          ? new Uint8Array(32)
          : sha(fromBase64Url('h', state.lastHead).subarray(0, TREE_HEAD_BODY_LENGTH));
      if (!equal(h.previousHeadHash, expected))
        throw new AuditFailure(e, 'the head does not name the previous head (a fork or a rewrite)');
      if (prev !== undefined && h.timeMs < prev.timeMs) throw new AuditFailure(e, 'time went back');
    }
    if (checks.log) {
      if (h.logSize !== leaves.length || !equal(h.logRoot, logRoot(leaves, sha))) {
        throw new AuditFailure(e, 'the head log is not the log of the heads audited before it (not append-only)');
      }
    }
    const updates = rec.updates;
    if (!Array.isArray(updates)) throw new AuditFailure(e, 'no update list');
    const seen = new Set<string>();
    const batch: { key: Uint8Array; valueHash: Uint8Array }[] = [];
    for (const u of updates as { key?: unknown; value?: unknown; version?: unknown }[]) {
      let key: Uint8Array;
      let value: Uint8Array;
      try {
        key = fromBase64Url('key', u.key);
        value = fromBase64Url('value', u.value);
      } catch {
        throw new AuditFailure(e, 'an update is malformed');
      }
      const version = u.version;
      if (key.length !== 32 || value.length !== 32 || !Number.isSafeInteger(version) || (version as number) < 1) {
        throw new AuditFailure(e, 'an update is malformed');
      }
      const k = hex(key);
      if (seen.has(k)) throw new AuditFailure(e, `key ${k} is updated twice in one epoch`);
      seen.add(k);
      const old = entries.get(k);
      if (checks.versions && old !== undefined && (version as number) <= old[1]) {
        throw new AuditFailure(e, `the version of key ${k} went from ${old[1]} to ${String(version)} (must only grow)`);
      }
      entries.set(k, [hex(value), version as number]);
      batch.push({ key, valueHash: value });
    }
    const root = map.applyBatch(batch);
    if (checks.roots && !equal(root, h.mapRoot)) {
      throw new AuditFailure(
        e,
        'the map root is not the replay of the updates (a key was removed or changed outside them)',
      );
    }
    leaves.push(logLeafHash(fromBase64Url('h', rec.head).subarray(0, TREE_HEAD_BODY_LENGTH), sha));
    prev = h;
    state.epoch = e;
    state.lastHead = String(rec.head);
    if (witnessSeed !== undefined && witnessKey !== undefined) {
      const sig = await cosignTreeHead(provider, witnessSeed, h);
      const res = await fetch(`${base}/v1/kt/witness`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ epoch: e, key: toBase64Url(witnessKey), sig: toBase64Url(sig) }),
      });
      if (!res.ok) o.log?.(`epoch ${e}: the server refused the cosignature (${res.status})`);
    }
    if (e % 100 === 0 || e === latest) save();
  }
  save();
  o.log?.(`audited up to epoch ${state.epoch}: ${entries.size} keys, every head consistent`);
  return state.epoch;
}

/** The command. */
export async function audit(flags: Flags): Promise<number> {
  const server = flags.server;
  if (server === undefined)
    throw new CliError('usage: parley audit --server URL [--state FILE] [--follow] [--witness KEYFILE]', EXIT.usage);
  const options: AuditOptions = {
    server,
    stateFile: flags.state,
    witnessFile: flags.witness,
    log: (line) => process.stdout.write(`${line}\n`),
  };
  for (;;) {
    try {
      await auditOnce(options);
    } catch (err) {
      if (err instanceof AuditFailure) {
        throw new CliError(`the key directory of ${server} is INCONSISTENT at ${err.message}`, EXIT.failure);
      }
      if (!flags.follow || !(err instanceof CliError) || err.exitCode !== EXIT.unreachable) throw err;
      process.stderr.write(`parley audit: ${err.message}; retrying\n`);
    }
    if (!flags.follow) return EXIT.ok;
    await new Promise((r) => setTimeout(r, 5_000));
  }
}
