import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCommit, createGroup, type Extension, encodeExternalSender, encodeMlsMessage } from 'ts-mls';
import {
  type ClientConfig,
  checkKeyPackage,
  commitGroupChange,
  createGroupState,
  createKeyPackage,
  decodeGroupRecord,
  decodePrivateKeys,
  encodeGroupMeta,
  encodeGroupRecord,
  encodeGroupRecordWithoutTree,
  encodeGroupTree,
  GROUP_META_EXTENSION,
  type GroupState,
  groupClientConfig,
  groupCommitPolicy,
  groupLeaves,
  groupMetaOf,
  groupSuite,
  joinFromWelcome,
  openGroupMessage,
  peekGroupMessage,
  readWelcome,
  sealGroupMessage,
} from '../../src/groups.ts';
import {
  createWebCryptoProvider,
  type DeviceIdentityKeyPair,
  generateDeviceIdentity,
  isProtocolError,
} from '../../src/index.ts';
import { provider, random } from '../helpers/parties.ts';

interface Member {
  readonly account: string;
  readonly device: number;
  readonly identity: DeviceIdentityKeyPair;
  /** The configuration (and so the crypto provider) this member's device runs on. */
  readonly config: ClientConfig;
  state?: GroupState;
}

const registry = new Map<string, Uint8Array>();
const registered = async (d: { account: string; device: number }, key: Uint8Array) => {
  const known = registry.get(`${d.account}/${d.device}`);
  return known !== undefined && Buffer.from(known).equals(Buffer.from(key));
};
const config = groupClientConfig(registered, provider);
/** A browser's configuration: the same suite on WebCrypto (browser clients run it). */
const webConfig = groupClientConfig(registered, createWebCryptoProvider());
const text = (s: string) => new TextEncoder().encode(s);
const read = (b: Uint8Array) => new TextDecoder().decode(b);

async function member(account: string, device = 1, on = config): Promise<Member> {
  const identity = await generateDeviceIdentity(provider, random);
  registry.set(`${account}/${device}`, identity.publicIdentity.signingKey);
  return { account, device, identity, config: on };
}

async function keyPackageOf(m: Member) {
  const created = await createKeyPackage(m.identity, m.account, m.device);
  const keyPackage = await checkKeyPackage(created.keyPackage, {
    account: m.account,
    device: m.device,
    signingKey: m.identity.publicIdentity.signingKey,
  });
  return { created, keyPackage };
}

/** Creates a group owned by `admin` and adds `others` in one commit; every member joins. */
async function groupOf(admin: Member, others: Member[], admins = [admin.account]) {
  admin.state = await createGroupState({
    groupId: random(16),
    identity: admin.identity,
    account: admin.account,
    device: admin.device,
    meta: { name: 'Book club', admins },
    config: admin.config,
  });
  const packages = await Promise.all(others.map(keyPackageOf));
  const pending = await commitGroupChange(admin.state, { add: packages.map((p) => p.keyPackage) });
  admin.state = pending.state;
  assert.ok(pending.welcome);
  const { welcome, refs } = readWelcome(pending.welcome);
  for (const [i, m] of others.entries()) {
    const p = packages[i];
    assert.ok(p);
    assert.ok(refs.includes(p.created.ref));
    m.state = await joinFromWelcome(
      welcome,
      p.keyPackage,
      decodePrivateKeys(p.created.privateKeys, m.identity.signingPrivateKey),
      m.config,
    );
  }
  return pending;
}

async function send(from: Member, body: string) {
  assert.ok(from.state);
  const sealed = await sealGroupMessage(from.state, text(body));
  from.state = sealed.state;
  return sealed.message;
}

async function open(to: Member, message: Uint8Array, departed = new Set<string>()) {
  assert.ok(to.state);
  const opened = await openGroupMessage(to.state, message, groupCommitPolicy(departed));
  to.state = opened.state;
  return opened;
}

describe('MLS groups', () => {
  it('delivers one ciphertext to every member with the authenticated sender', async () => {
    const [alice, bob, carol] = await Promise.all([member('alice'), member('bob'), member('carol')]);
    await groupOf(alice, [bob, carol]);
    const message = await send(bob, 'hello group');
    for (const m of [alice, carol]) {
      const opened = await open(m, message);
      assert.equal(opened.kind, 'application');
      assert.ok(opened.kind === 'application');
      assert.equal(read(opened.data), 'hello group');
      assert.equal(opened.sender.account, 'bob');
    }
    assert.deepEqual(
      groupLeaves(carol.state as GroupState).map((l) => l.account),
      ['alice', 'bob', 'carol'],
    );
    assert.equal(groupMetaOf(carol.state as GroupState).name, 'Book club');
    assert.deepEqual(peekGroupMessage(message)?.epoch, 1);
  });

  it('runs one group across members on the Node and the WebCrypto suite', async () => {
    const [alice, bob, carol] = await Promise.all([member('alice'), member('bob', 1, webConfig), member('carol')]);
    await groupOf(alice, [bob, carol]);
    for (const [from, to] of [
      [alice, bob],
      [bob, carol],
    ] as const) {
      const opened = await open(to, await send(from, `from ${from.account}`));
      assert.ok(opened.kind === 'application');
      assert.equal(read(opened.data), `from ${from.account}`);
    }
    // A path update from the WebCrypto member, then one from a Node member: each side derives
    // the other's epoch secrets, so their key schedules agree byte for byte.
    for (const committer of [bob, alice]) {
      assert.ok(committer.state);
      const pending = await commitGroupChange(committer.state, {});
      committer.state = pending.state;
      for (const m of [alice, bob, carol].filter((x) => x !== committer)) await open(m, pending.commit);
    }
    const last = await open(bob, await send(carol, 'after two epochs'));
    assert.ok(last.kind === 'application');
    assert.equal(read(last.data), 'after two epochs');
    assert.equal(bob.state?.groupContext.epoch, alice.state?.groupContext.epoch);
  });

  it('rejects a replayed and a tampered message and keeps the state usable', async () => {
    const [alice, bob] = await Promise.all([member('alice'), member('bob')]);
    await groupOf(alice, [bob]);
    const message = await send(alice, 'once');
    await open(bob, message);
    const before = bob.state;
    // A message opened before is a duplicate (e.g. delivered again after a lost acknowledgement).
    await assert.rejects(open(bob, message), (e) => isProtocolError(e, 'DUPLICATE_MESSAGE'));
    // Tampered with before it was ever opened (a used generation's key is gone: nothing to check).
    const next = await send(alice, 'twice');
    const tampered = next.slice();
    tampered[tampered.length - 3] = (tampered[tampered.length - 3] ?? 0) ^ 1;
    await assert.rejects(open(bob, tampered), (e) => isProtocolError(e) && !isProtocolError(e, 'DUPLICATE_MESSAGE'));
    assert.equal(bob.state, before);
    const opened = await open(bob, next);
    assert.ok(opened.kind === 'application' && read(opened.data) === 'twice');
  });

  it('a removed member cannot read what is sent afterwards', async () => {
    const [alice, bob, carol] = await Promise.all([member('alice'), member('bob'), member('carol')]);
    await groupOf(alice, [bob, carol]);
    const carolLeaf = groupLeaves(alice.state as GroupState).find((l) => l.account === 'carol');
    assert.ok(carolLeaf);
    const pending = await commitGroupChange(alice.state as GroupState, { remove: [carolLeaf.leaf] });
    alice.state = pending.state;
    await open(bob, pending.commit);
    const removed = await open(carol, pending.commit);
    assert.equal(removed.kind, 'commit');
    const after = await send(alice, 'carol is gone');
    await assert.rejects(open(carol, after), (e) => isProtocolError(e));
    const opened = await open(bob, after);
    assert.ok(opened.kind === 'application' && read(opened.data) === 'carol is gone');
  });

  it('refuses a non-admin adding another account, and accepts an admin doing it', async () => {
    const [alice, bob, carol, dave] = await Promise.all([
      member('alice'),
      member('bob'),
      member('carol'),
      member('dave'),
    ]);
    await groupOf(alice, [bob, carol]);
    const { keyPackage } = await keyPackageOf(dave);
    const rogue = await commitGroupChange(bob.state as GroupState, { add: [keyPackage] });
    for (const m of [alice, carol]) {
      const before = m.state;
      await assert.rejects(open(m, rogue.commit), (e) => isProtocolError(e, 'UNAUTHORIZED_CHANGE'));
      assert.equal(m.state, before);
    }
    const proper = await commitGroupChange(alice.state as GroupState, { add: [(await keyPackageOf(dave)).keyPackage] });
    alice.state = proper.state;
    const opened = await open(carol, proper.commit);
    assert.equal(opened.kind, 'commit');
    assert.ok(groupLeaves(carol.state as GroupState).some((l) => l.account === 'dave'));
  });

  it('lets any member add its own new device and remove an account that announced leaving', async () => {
    const [alice, bob, carol] = await Promise.all([member('alice'), member('bob'), member('carol')]);
    await groupOf(alice, [bob, carol]);
    const bob2 = await member('bob', 2);
    const own = await commitGroupChange(bob.state as GroupState, { add: [(await keyPackageOf(bob2)).keyPackage] });
    bob.state = own.state;
    await open(alice, own.commit);
    await open(carol, own.commit);
    const carolLeaf = groupLeaves(bob.state).find((l) => l.account === 'carol');
    assert.ok(carolLeaf);
    const removal = await commitGroupChange(bob.state, { remove: [carolLeaf.leaf] });
    await assert.rejects(open(alice, removal.commit), (e) => isProtocolError(e, 'UNAUTHORIZED_CHANGE'));
    const opened = await open(alice, removal.commit, new Set(['carol']));
    assert.equal(opened.kind, 'commit');
  });

  it('refuses a metadata change by a non-admin', async () => {
    const [alice, bob, carol] = await Promise.all([member('alice'), member('bob'), member('carol')]);
    await groupOf(alice, [bob, carol]);
    const coup = await commitGroupChange(bob.state as GroupState, { meta: { name: 'Mine now', admins: ['bob'] } });
    await assert.rejects(open(carol, coup.commit), (e) => isProtocolError(e, 'UNAUTHORIZED_CHANGE'));
    const rename = await commitGroupChange(alice.state as GroupState, {
      meta: { name: 'Reading circle', admins: ['alice', 'bob'] },
    });
    await open(carol, rename.commit);
    assert.deepEqual(groupMetaOf(carol.state as GroupState), { name: 'Reading circle', admins: ['alice', 'bob'] });
  });

  it('refuses a Welcome whose tree holds a device the credential check does not know', async () => {
    const [alice, bob] = await Promise.all([member('alice'), member('bob')]);
    const ghost = await member('ghost');
    registry.delete('ghost/1');
    alice.state = await createGroupState({
      groupId: random(16),
      identity: alice.identity,
      account: 'alice',
      device: 1,
      meta: { name: 'g', admins: ['alice'] },
      config: groupClientConfig(async () => true, provider),
    });
    const ghostPackage = await createKeyPackage(ghost.identity, 'ghost', 1);
    const bobPackage = await keyPackageOf(bob);
    const pending = await commitGroupChange(alice.state, {
      add: [
        bobPackage.keyPackage,
        await checkKeyPackage(ghostPackage.keyPackage, {
          account: 'ghost',
          device: 1,
          signingKey: ghost.identity.publicIdentity.signingKey,
        }),
      ],
    });
    assert.ok(pending.welcome);
    await assert.rejects(
      joinFromWelcome(
        readWelcome(pending.welcome).welcome,
        bobPackage.keyPackage,
        decodePrivateKeys(bobPackage.created.privateKeys, bob.identity.signingPrivateKey),
        config,
      ),
      (e) => isProtocolError(e, 'INVALID_GROUP_MESSAGE'),
    );
  });

  it('checks KeyPackages: the device key, the named device, the signature', async () => {
    const [alice, mallory] = await Promise.all([member('alice'), member('mallory')]);
    const created = await createKeyPackage(alice.identity, 'alice', 1);
    const expected = { account: 'alice', device: 1, signingKey: alice.identity.publicIdentity.signingKey };
    await checkKeyPackage(created.keyPackage, expected);
    await assert.rejects(
      checkKeyPackage(created.keyPackage, { ...expected, signingKey: mallory.identity.publicIdentity.signingKey }),
      (e) => isProtocolError(e, 'INVALID_KEY'),
    );
    await assert.rejects(checkKeyPackage(created.keyPackage, { ...expected, device: 2 }), (e) =>
      isProtocolError(e, 'INVALID_ARGUMENT'),
    );
    const forged = created.keyPackage.slice();
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1;
    await assert.rejects(checkKeyPackage(forged, expected), (e) => isProtocolError(e, 'INVALID_SIGNATURE'));
    await assert.rejects(checkKeyPackage(created.keyPackage.subarray(0, 40), expected), (e) =>
      isProtocolError(e, 'MALFORMED_MESSAGE'),
    );
  });

  it('round-trips a group record and keeps working after it', async () => {
    const [alice, bob] = await Promise.all([member('alice'), member('bob')]);
    await groupOf(alice, [bob]);
    bob.state = decodeGroupRecord(encodeGroupRecord(bob.state as GroupState), config);
    alice.state = decodeGroupRecord(encodeGroupRecord(alice.state as GroupState), config);
    const opened = await open(bob, await send(alice, 'after restart'));
    assert.ok(opened.kind === 'application' && read(opened.data) === 'after restart');
  });

  it('stores a state without its tree beside a tree record, and refuses mismatched or damaged parts', async () => {
    const members = await Promise.all(['alice', 'bob', 'carol', 'dave', 'erin'].map((n) => member(n)));
    const [alice, bob, ...others] = members as [Member, Member, ...Member[]];
    await groupOf(alice, [bob, ...others]);
    const state = bob.state as GroupState;
    const record = encodeGroupRecordWithoutTree(state);
    const tree = encodeGroupTree(state);
    // The record holds one node of the tree as a placeholder, not the tree.
    assert.ok(record.length < encodeGroupRecord(state).length - tree.length / 2);
    bob.state = decodeGroupRecord(record, config, tree);
    assert.deepEqual(bob.state.ratchetTree, state.ratchetTree);
    const opened = await open(bob, await send(alice, 'after a split restore'));
    assert.ok(opened.kind === 'application' && read(opened.data) === 'after a split restore');
    // A message leaves the tree (and its hash) alone, so the stored tree stays valid.
    assert.deepEqual(bob.state.ratchetTree, state.ratchetTree);
    assert.deepEqual(bob.state.groupContext.treeHash, state.groupContext.treeHash);
    assert.throws(
      () => decodeGroupRecord(record, config),
      (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
    );
    assert.throws(
      () => decodeGroupRecord(record, config, Uint8Array.of(9, ...tree.subarray(1))),
      (e) => isProtocolError(e, 'UNKNOWN_VERSION'),
    );
    for (const damaged of [tree.subarray(0, tree.length - 3), Uint8Array.of(...tree, 0)]) {
      assert.throws(
        () => decodeGroupRecord(record, config, damaged),
        (e) => isProtocolError(e, 'MALFORMED_MESSAGE'),
      );
    }
    assert.throws(
      () => decodeGroupRecord(Uint8Array.of(3, ...record.subarray(1)), config, tree),
      (e) => isProtocolError(e, 'UNKNOWN_VERSION'),
    );
    assert.throws(
      () => decodeGroupRecord(Uint8Array.of(...record, 0), config, tree),
      (e) => isProtocolError(e, 'MALFORMED_MESSAGE'),
    );
  });

  it('reads a message from the previous epoch after a commit (out-of-order across a commit)', async () => {
    const [alice, bob, carol] = await Promise.all([member('alice'), member('bob'), member('carol')]);
    await groupOf(alice, [bob, carol]);
    const late = await send(carol, 'sent before the commit');
    const pending = await commitGroupChange(alice.state as GroupState, {});
    alice.state = pending.state;
    await open(bob, pending.commit);
    const opened = await open(bob, late);
    assert.ok(opened.kind === 'application' && read(opened.data) === 'sent before the commit');
  });

  it('refuses external senders: added by a commit, or present in a Welcome’s group', async () => {
    const [alice, bob, carol] = await Promise.all([member('alice'), member('bob'), member('carol')]);
    const outsider = await generateDeviceIdentity(provider, random);
    const externalSenders: Extension = {
      extensionType: 'external_senders',
      extensionData: encodeExternalSender({
        signaturePublicKey: outsider.publicIdentity.signingKey,
        credential: { credentialType: 'basic', identity: text('the operator') },
      }),
    };
    const cs = await groupSuite();
    // The admin's commit adding an external sender is refused by every member.
    await groupOf(alice, [bob, carol]);
    // A modified client that accepts any credential builds it (an honest one refuses to).
    const permissive = Object.assign(groupClientConfig(registered, provider), {
      authService: { validateCredential: async () => true },
    });
    const state = { ...(alice.state as GroupState), clientConfig: permissive };
    const added = await createCommit(
      { state, cipherSuite: cs },
      {
        extraProposals: [
          {
            proposalType: 'group_context_extensions',
            groupContextExtensions: { extensions: [...state.groupContext.extensions, externalSenders] },
          },
        ],
      },
    );
    // ts-mls already refuses the outsider's credential; with that check passed, the policy still does.
    await assert.rejects(open(bob, encodeMlsMessage(added.commit)), (e) => isProtocolError(e, 'INVALID_GROUP_MESSAGE'));
    bob.state = { ...(bob.state as GroupState), clientConfig: permissive };
    await assert.rejects(open(bob, encodeMlsMessage(added.commit)), (e) => isProtocolError(e, 'UNAUTHORIZED_CHANGE'));
    // A group created with one: its Welcome is refused.
    const kp = await keyPackageOf(bob);
    const own = await keyPackageOf(alice);
    const meta = {
      extensionType: GROUP_META_EXTENSION,
      extensionData: encodeGroupMeta({ name: 'x', admins: ['alice'] }),
    };
    const outsidersWelcome = await createGroup(
      random(16),
      own.keyPackage,
      decodePrivateKeys(own.created.privateKeys, alice.identity.signingPrivateKey),
      [meta, externalSenders],
      cs,
      permissive,
    );
    const withBob = await commitGroupChange(outsidersWelcome, { add: [kp.keyPackage] });
    assert.ok(withBob.welcome);
    await assert.rejects(
      joinFromWelcome(
        readWelcome(withBob.welcome).welcome,
        kp.keyPackage,
        decodePrivateKeys(kp.created.privateKeys, bob.identity.signingPrivateKey),
        config,
      ),
      (e) => isProtocolError(e, 'UNAUTHORIZED_CHANGE'),
    );
  });
});
