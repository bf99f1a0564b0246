/**
 * A hostile server against key transparency, end to end through a real relay with a directory
 * (issue 20; docs/protocol.md §20, docs/threat-model.md): the operator rewrites Alice's key
 * answers to Mallory's key and list while keeping the directory's true proof for Alice. Bob's
 * client refuses the key; the same attack on a client with `keyTransparency: false` succeeds.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { isClientError, type ParleyClient, registerAccount } from '@parley/client';
import { createWorld } from './helpers/env.ts';
import { startRecordingProxy } from './helpers/recording-proxy.ts';

type Frame = { type?: string; result?: Record<string, unknown> };

describe('hostile server: key transparency', () => {
  const cleanup: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('a key for Alice that is not hers is refused (KEY_NOT_IN_DIRECTORY); with checks off it is taken', async () => {
    const world = await createWorld({ ktEpochMs: 200 });
    cleanup.push(() => world.close());
    let rule = (d: string): string[] => [d];
    const proxy = await startRecordingProxy(
      () => world.server.url,
      (d) => rule(d),
    );
    cleanup.push(() => proxy.close());
    const clients: ParleyClient[] = [];
    cleanup.push(async () => {
      for (const c of clients) await c.close();
    });
    const register = async (name: string, keyTransparency = true) => {
      const c = await registerAccount({
        home: world.home(name),
        name,
        server: proxy.url,
        receipts: false,
        maxBackoffMs: 200,
        keyTransparency,
      });
      clients.push(c);
      return c;
    };
    const alice = await register('alice');
    await register('mallory');
    const carol = await register('carol');
    const bob = await register('bob');
    const bobOff = await register('bobo', false);
    assert.equal(bob.directoryStatus().active, true);
    // Wait until Alice's own entry is in the directory (epochs every 200 ms here).
    for (let i = 0; i < 100 && (await alice.checkDirectory())?.ok !== true; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(alice.directoryStatus().lastSelfCheck?.ok, true);

    // The operator learns both accounts' answers (carol fetches them), then swaps them.
    const seen: Record<string, unknown>[] = [];
    rule = (d) => {
      const f = JSON.parse(d) as Frame;
      if (f.type === 'response' && typeof f.result?.accountKey === 'string' && 'deviceList' in f.result)
        seen.push(f.result);
      return [d];
    };
    await carol.safety('mallory');
    const malloryAnswer = seen[0] as { accountKey: string; deviceList: string };
    await carol.safety('alice');
    const aliceKey = (seen.at(-1) as { accountKey: string }).accountKey;
    assert.notEqual(aliceKey, malloryAnswer.accountKey);
    rule = (d) => {
      const f = JSON.parse(d) as Frame;
      if (f.type === 'response' && f.result?.accountKey === aliceKey && typeof f.result.deviceList === 'string') {
        return [JSON.stringify({ ...f, result: { ...f.result, ...malloryAnswer } })];
      }
      return [d];
    };

    await assert.rejects(bob.safety('alice'), (e) => isClientError(e, 'KEY_NOT_IN_DIRECTORY'));
    // With checks off, the false key is pinned as Alice's: once the operator stops, her real key
    // shows as a key change at the next send.
    await bobOff.safety('alice');
    rule = (d) => [d];
    const events = bobOff.events(AbortSignal.timeout(20_000));
    await bobOff.send('alice', 'hello');
    let changed = false;
    for await (const e of events) {
      if (e.type === 'identity-changed' && e.name === 'alice') {
        changed = true;
        break;
      }
    }
    assert.ok(changed, 'the client without checks had taken the false key');
    // Bob, who refused it, sees Alice's real key and its directory entry.
    const s = await bob.safety('alice');
    assert.equal(s.changed, false);
    assert.ok((s.directory?.version ?? 0) >= 1);
  });
});
