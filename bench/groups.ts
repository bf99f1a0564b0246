/**
 * `npm run bench -- groups [--sizes 10,100,1000] [--seconds S]`: what MLS group operations cost
 * at each size (one device per member), and the relay's group fan-out throughput.
 *
 * Baselines, measured in the same run:
 *  - client costs (`send_ms`, `add_ms`, `remove_ms`) and bytes (`send_bytes`, `add_commit_bytes`,
 *    `add_welcome_bytes`, `remove_commit_bytes`) against **pairwise fan-out**: what the same
 *    operation costs when the sender encrypts separately for every member over Parley's own
 *    Double Ratchet sessions (n × one encryption, n × one message) — the cost MLS avoids. A
 *    ratio below 1 is MLS being cheaper;
 *  - `process_commit_ms` (a member applying a commit) against one pairwise decryption;
 *  - `fanout_deliveries_per_s` (a group message stored durably and pushed to every member
 *    device) against a `ws` relay that forwards the frame to every member, storing nothing.
 *
 * Groups are built the way a creator adds everyone in one commit, so interior tree nodes are
 * blank: a removal then encrypts the path to many leaves (RFC 9420 §4.1.1 resolution) and costs
 * O(n) bytes (`remove_*`). Members' own path updates fill the tree; `remove_warm_*` measures the
 * same removal once the members whose updates matter to it have committed one, the steady state
 * periodic key updates lead to, where a removal costs O(log n) bytes.
 */
import { type DeviceIdentityKeyPair, generateDeviceIdentity, toBase64Url } from '@parley/protocol';
import {
  checkKeyPackage,
  commitGroupChange,
  createGroupState,
  createKeyPackage,
  decodePrivateKeys,
  groupClientConfig,
  groupCommitPolicy,
  groupLeaves,
  joinFromWelcome,
  openGroupMessage,
  readWelcome,
  sealGroupMessage,
} from '@parley/protocol/groups';
import { createNodeCryptoProvider, createNodeRandom } from '@parley/protocol/node';
import type WebSocket from 'ws';
import { createParleyParty } from './parley-party.ts';
import { open, registered, startRelay, stop } from './relay.ts';
import { report } from './report.ts';

const provider = createNodeCryptoProvider();
const random = createNodeRandom();
/** The benchmark trusts every credential: device-list lookups are the client's, not MLS's, cost. */
const config = groupClientConfig(async () => true, provider);
const WINDOW = 8;
/** A padded one-line text message (§12): one 160-byte block. */
const CONTENT = new Uint8Array(160).fill(7);

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await run();
  return { ms: performance.now() - t0, value };
}

/** Pairwise fan-out unit costs: one Double Ratchet encryption and decryption of the content. */
async function pairwise(): Promise<{ encryptMs: number; decryptMs: number; bytes: number }> {
  const alice = await createParleyParty('alice');
  const bob = await createParleyParty('bob');
  await alice.startSession(bob);
  await bob.decrypt(alice, await alice.encrypt(bob, CONTENT));
  await alice.decrypt(bob, await bob.encrypt(alice, CONTENT));
  const rounds = 200;
  let encryptMs = 0;
  let decryptMs = 0;
  let bytes = 0;
  for (let i = 0; i < rounds; i++) {
    const e = await timed(() => alice.encrypt(bob, CONTENT));
    const d = await timed(() => bob.decrypt(alice, e.value));
    encryptMs += e.ms;
    decryptMs += d.ms;
    bytes = e.value.length;
  }
  return { encryptMs: encryptMs / rounds, decryptMs: decryptMs / rounds, bytes };
}

async function device(i: number): Promise<{ identity: DeviceIdentityKeyPair; account: string }> {
  return { identity: await generateDeviceIdentity(provider, random), account: `member${i}` };
}

async function keyPackage(d: { identity: DeviceIdentityKeyPair; account: string }) {
  const created = await createKeyPackage(d.identity, d.account, 1);
  const kp = await checkKeyPackage(created.keyPackage, {
    account: d.account,
    device: 1,
    signingKey: d.identity.publicIdentity.signingKey,
  });
  return { created, kp };
}

/** Client-side costs at size `n`: build, add one, send, remove one. */
async function clientCosts(n: number, unit: Awaited<ReturnType<typeof pairwise>>): Promise<void> {
  const members = await Promise.all(Array.from({ length: n + 1 }, (_, i) => device(i)));
  const creator = members[0] as (typeof members)[0];
  let a = await createGroupState({
    groupId: random(16),
    identity: creator.identity,
    account: creator.account,
    device: 1,
    meta: { name: 'bench', admins: [creator.account] },
    config,
  });
  const packages = await Promise.all(members.slice(1, n).map(keyPackage));
  const built = await commitGroupChange(a, { add: packages.map((p) => p.kp) });
  a = built.state;
  const first = packages[0];
  if (first === undefined || built.welcome === undefined) throw new Error('group needs at least two members');
  let b = await joinFromWelcome(
    readWelcome(built.welcome).welcome,
    first.kp,
    decodePrivateKeys(first.created.privateKeys, (members[1] as (typeof members)[0]).identity.signingPrivateKey),
    config,
  );
  const policy = groupCommitPolicy(new Set());
  const label = (what: string) => `groups.n${n}.${what}`;

  const newcomer = await keyPackage(members[n] as (typeof members)[0]);
  const add = await timed(() => commitGroupChange(a, { add: [newcomer.kp] }));
  a = add.value.state;
  const applyAdd = await timed(() => openGroupMessage(b, add.value.commit, policy));
  b = applyAdd.value.state;
  report(label('add_ms'), add.ms, 'ms', n * unit.encryptMs);
  report(label('add_commit_bytes'), add.value.commit.length, 'bytes', n * unit.bytes);
  report(label('add_welcome_bytes'), add.value.welcome?.length ?? 0, 'bytes', n * unit.bytes);
  report(label('process_commit_ms'), applyAdd.ms, 'ms', unit.decryptMs);

  const rounds = 20;
  let sealMs = 0;
  let sent: Uint8Array = new Uint8Array();
  for (let i = 0; i < rounds; i++) {
    const s = await timed(() => sealGroupMessage(a, CONTENT));
    a = s.value.state;
    sent = s.value.message;
    sealMs += s.ms;
    b = (await openGroupMessage(b, sent, policy)).state;
  }
  report(label('send_ms'), sealMs / rounds, 'ms', n * unit.encryptMs);
  report(label('send_bytes'), sent.length, 'bytes', n * unit.bytes);

  const leaf = groupLeaves(a).find((l) => l.account === `member${n}`)?.leaf;
  if (leaf === undefined) throw new Error('the newcomer is not in the tree');
  const remove = await timed(() => commitGroupChange(a, { remove: [leaf] }));
  report(label('remove_ms'), remove.ms, 'ms', n * unit.encryptMs);
  report(label('remove_commit_bytes'), remove.value.commit.length, 'bytes', n * unit.bytes);

  // Warm tree, as members' periodic key updates leave it (docs/protocol.md §14.5): one member
  // under each node of the creator's copath, and one under each node of the removed leaf's
  // copath, has committed a path update. The removal blanks the removed leaf's direct path, so
  // the creator's path is then encrypted to one node per level on both paths — O(log n).
  const warmers = [...warmLeaves(0, leaf, n)];
  const since: Uint8Array[] = [add.value.commit];
  for (const i of warmers) {
    const p = packages[i - 1];
    const m = members[i];
    if (p === undefined || m === undefined) throw new Error(`no member at leaf ${i}`);
    let state = await joinFromWelcome(
      readWelcome(built.welcome).welcome,
      p.kp,
      decodePrivateKeys(p.created.privateKeys, m.identity.signingPrivateKey),
      config,
    );
    for (const c of since) state = (await openGroupMessage(state, c, policy)).state;
    const update = await commitGroupChange(state, {});
    a = (await openGroupMessage(a, update.commit, policy)).state;
    since.push(update.commit);
  }
  const warm = await timed(() => commitGroupChange(a, { remove: [leaf] }));
  report(label('remove_warm_ms'), warm.ms, 'ms', n * unit.encryptMs);
  report(label('remove_warm_commit_bytes'), warm.value.commit.length, 'bytes', n * unit.bytes);
}

/**
 * Leaves whose path updates fill the nodes a removal by `committer` of `removed` encrypts to: the
 * first leaf under each copath node of either leaf (RFC 9420 §4.1.2), among the `members`
 * existing leaves 0..members-1, other than the two themselves.
 */
function* warmLeaves(committer: number, removed: number, members: number): Generator<number> {
  const seen = new Set<number>([committer, removed]);
  for (const leaf of [committer, removed]) {
    for (let level = 0; 2 ** level < 2 * members; level++) {
      const first = ((leaf >> level) ^ 1) << level;
      if (first < members && !seen.has(first)) {
        seen.add(first);
        yield first;
      }
    }
  }
}

/** Sends `WINDOW` messages at a time for `seconds`; returns deliveries per second. */
async function closedLoop(
  seconds: number,
  receivers: number,
  send: (id: string) => void,
  onDelivery: (cb: (id: string) => void) => void,
): Promise<number> {
  const remaining = new Map<string, number>();
  let seq = 0;
  let delivered = 0;
  let measuring = false;
  let running = true;
  const sendOne = () => {
    const id = `gm${String(seq++).padStart(10, '0')}`;
    remaining.set(id, receivers);
    send(id);
  };
  onDelivery((id) => {
    const left = remaining.get(id);
    if (left === undefined) return;
    if (measuring) delivered++;
    if (left > 1) remaining.set(id, left - 1);
    else {
      remaining.delete(id);
      if (running) sendOne();
    }
  });
  for (let w = 0; w < WINDOW; w++) sendOne();
  await new Promise((r) => setTimeout(r, Math.min(1000, seconds * 300)));
  measuring = true;
  const start = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  measuring = false;
  running = false;
  const rate = delivered / ((performance.now() - start) / 1000);
  await new Promise((r) => setTimeout(r, 300));
  return rate;
}

const body = toBase64Url(random(320));

async function fanoutRaw(n: number, seconds: number): Promise<number> {
  const { child, url } = await startRelay(['raw']);
  const ws = url.replace(/^http/, 'ws');
  const sockets: WebSocket[] = [];
  try {
    const sender = await open(`${ws}/?id=s`);
    sockets.push(sender);
    const listeners: ((id: string) => void)[] = [];
    const to = Array.from({ length: n }, (_, i) => `r${i}`);
    for (const id of to) {
      const r = await open(`${ws}/?id=${id}`);
      sockets.push(r);
      r.on('message', (d) => {
        const messageId = (JSON.parse(String(d)) as { messageId: string }).messageId;
        for (const l of listeners) l(messageId);
      });
    }
    return await closedLoop(
      seconds,
      n,
      (messageId) => sender.send(JSON.stringify({ to, messageId, body })),
      (cb) => listeners.push(cb),
    );
  } finally {
    for (const s of sockets) s.terminate();
    await stop(child);
  }
}

async function fanoutParley(n: number, seconds: number): Promise<number> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-groups-'));
  const { child, url } = await startRelay(['parley', dir]);
  const sockets: WebSocket[] = [];
  const tag = toBase64Url(random(3))
    .toLowerCase()
    .replace(/[^a-z0-9]/g, 'x');
  try {
    const sender = await registered(url, `gs-${tag}`);
    sockets.push(sender);
    const listeners: ((id: string) => void)[] = [];
    const names: string[] = [];
    for (let i = 0; i < n; i++) {
      const name = `gr${i}-${tag}`;
      const r = await registered(url, name, true);
      names.push(name);
      sockets.push(r);
      r.on('message', (d) => {
        const f = JSON.parse(String(d)) as { type: string; seq?: number; messageId?: string };
        if (f.type !== 'deliver' || f.messageId === undefined) return;
        r.send(JSON.stringify({ v: 1, type: 'ack', seqs: [f.seq] }));
        for (const l of listeners) l(f.messageId);
      });
    }
    let reqId = 1;
    const request = (op: string, args: object) =>
      new Promise<void>((resolve, reject) => {
        const id = reqId++;
        sender.on('message', function answer(d) {
          const f = JSON.parse(String(d)) as { type: string; id?: number };
          if (f.id !== id) return;
          sender.off('message', answer);
          if (f.type === 'response') resolve();
          else reject(new Error(`${op}: ${String(d)}`));
        });
        sender.send(JSON.stringify({ v: 1, type: 'request', id, op, args }));
      });
    const groupId = toBase64Url(random(16));
    await request('group-create', { groupId });
    // A commit may list a device only with a KeyPackage of it fetched (docs/protocol.md §14.3).
    for (const name of names) await request('fetch-key-packages', { name });
    // The relay never parses MLS: any bytes stand for the commit that puts everyone in the group.
    await request('group-commit', {
      groupId,
      epoch: 0,
      messageId: `commit-${tag}`,
      commit: body,
      members: [{ name: `gs-${tag}`, devices: [1] }, ...names.map((name) => ({ name, devices: [1] }))],
    });
    const rate = await closedLoop(
      seconds,
      n,
      (messageId) =>
        sender.send(
          JSON.stringify({ v: 1, type: 'request', id: reqId++, op: 'group-send', args: { groupId, messageId, body } }),
        ),
      (cb) => listeners.push(cb),
    );
    return rate;
  } finally {
    for (const s of sockets) s.terminate();
    await stop(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the group benchmark. */
export async function runGroups({ seconds, sizes = [10, 100, 1000] }: { seconds: number; sizes?: number[] }) {
  const unit = await pairwise();
  for (const n of sizes) await clientCosts(n, unit);
  for (const n of sizes) {
    const raw = await fanoutRaw(n, seconds);
    const parley = await fanoutParley(n, seconds);
    report(`groups.n${n}.fanout_deliveries_per_s`, parley, 'deliveries/s', raw);
  }
}
