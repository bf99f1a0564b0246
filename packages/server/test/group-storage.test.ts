/**
 * Issue 19, item 5: one user could make the server store hundreds of megabytes, because a group
 * commit or message was stored once per listed device. Measured on the database file itself (the
 * pages in use, read through a second SQLite connection), not through the store's own API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateDeviceIdentity, toBase64Url } from '@parley/protocol';
import { type RunningServer, startServer } from '@parley/server';
import Database from 'better-sqlite3';
import {
  authRaw,
  inviteRaw,
  provider,
  type RawDevice,
  random,
  registerRaw,
  setDevicesRaw,
} from './helpers/raw-device.ts';

/** Bytes of the database's pages in use (committed data, WAL included). */
function databaseBytes(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    const size = db.pragma('page_size', { simple: true }) as number;
    return (pages - free) * size;
  } finally {
    db.close();
  }
}

/** An account with `count` devices, each connected. */
async function accountWith(url: string, name: string, count: number): Promise<RawDevice[]> {
  const first = await registerRaw(url, name);
  const others = await Promise.all(
    Array.from({ length: count - 1 }, async (_, i) => ({
      device: i + 2,
      identity: await generateDeviceIdentity(provider, random),
    })),
  );
  if (others.length > 0) {
    const r = await setDevicesRaw(first, 2, others);
    assert.equal(r.type, 'response', JSON.stringify(r));
  }
  const rest = [];
  for (const o of others) {
    const conn = await authRaw(url, name, o.identity, o.device);
    rest.push({ name, identity: o.identity, conn, account: first.account, device: o.device });
  }
  return [first, ...rest];
}

describe('group storage amplification (issue 19 item 5)', () => {
  let dir: string;
  let server: RunningServer;
  const file = () => join(dir, 'data', 'parley.sqlite');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-amplify-'));
    server = await startServer({
      port: 0,
      dataDir: join(dir, 'data'),
      logLevel: 'silent',
      limits: { fetchRate: 100, fetchBurst: 100, sendRate: 100, sendBurst: 100 },
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('two 1 MiB commits listing 204 devices store less than twice their bodies', async (t) => {
    const mallory = await registerRaw(server.url, 'mallory');
    // Thirteen throwaway accounts: 12 with 16 devices, one with 11 — 203 devices besides mallory's.
    const puppets: RawDevice[] = [];
    for (let i = 0; i < 13; i++) puppets.push(...(await accountWith(server.url, `puppet${i}`, i < 12 ? 16 : 11)));
    assert.equal(puppets.length, 203);
    // The delivery-list rule is met the way an attacker controlling these accounts can meet it.
    await inviteRaw(mallory, ...puppets);
    // Offline, as throwaway devices are: what is sent to them stays stored.
    for (const p of puppets) p.conn.close();

    const groupId = toBase64Url(random(16));
    assert.equal((await mallory.conn.request('group-create', { groupId })).type, 'response');
    const byAccount = new Map<string, number[]>([['mallory', [1]]]);
    for (const p of puppets) byAccount.set(p.name, [...(byAccount.get(p.name) ?? []), p.device]);
    const members = [...byAccount].map(([name, devices]) => ({ name, devices }));
    assert.equal(
      members.reduce((n, m) => n + m.devices.length, 0),
      204,
    );

    const body = 1024 * 1024;
    for (const epoch of [0, 1]) {
      const before = databaseBytes(file());
      const r = await mallory.conn.request('group-commit', {
        groupId,
        epoch,
        messageId: `amplify-${epoch}-0000`,
        commit: toBase64Url(random(body)),
        members,
      });
      assert.equal(r.type, 'response', JSON.stringify(r).slice(0, 300));
      const grew = databaseBytes(file()) - before;
      t.diagnostic(`commit on epoch ${epoch}: the database grew by ${grew} bytes`);
      assert.ok(grew < 2 * body, `a commit of ${body} bytes to 203 devices grew the database by ${grew} bytes`);
    }
  });
});
