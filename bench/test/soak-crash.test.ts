/**
 * The short crash loops of `npm run soak -- crash` (issue 24): SDK clients send numbered messages
 * while the server process is SIGKILLed and restarted (SQLite, 3 kills; two PostgreSQL + NATS
 * nodes, 2 kills, either node); a receiving client process SIGKILLed while messages arrive; a
 * server SIGKILLed during a migration. No timing is asserted: only what arrived, once, in order.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NATS_URL,
  POSTGRES_URL,
  postgresSkipReason,
  tcpSkipReason,
} from '../../packages/server/test/helpers/services.ts';
import { runClientKill } from '../soak/client-kill.ts';
import { type CrashSummary, runCrashSoak } from '../soak/crash.ts';
import { runMigrationKill } from '../soak/migration-kill.ts';

/** The invariants every crash loop must keep (all of them are counted by the run itself). */
function assertKept(s: CrashSummary): void {
  const { duplicated, outOfOrder, unexpected, undecryptable, sendFailed } = s;
  assert.deepEqual(
    { duplicated, outOfOrder, unexpected, undecryptable, sendFailed },
    { duplicated: 0, outOfOrder: 0, unexpected: 0, undecryptable: 0, sendFailed: 0 },
    JSON.stringify(s),
  );
  assert.ok(s.acked > 0 && s.checked >= s.acked, JSON.stringify(s));
}

/** Skips only outside CI: with CI=true (or PARLEY_REQUIRE_SERVICES=1) a missing service fails. */
async function servicesReason(): Promise<string | undefined> {
  const reason = (await postgresSkipReason()) ?? (await tcpSkipReason('NATS', NATS_URL));
  if (reason !== undefined && process.env.CI === 'true') throw new Error(`${reason}; CI requires it`);
  return reason;
}

const base = {
  clients: 4,
  meanIntervalMs: 1500,
  sendIntervalMs: 300,
  settleMs: 60_000,
  postgresUrl: POSTGRES_URL,
  natsUrl: NATS_URL,
};

describe('crash loops (short)', () => {
  let sqlite: CrashSummary | undefined;
  it('SQLite, 3 SIGKILLs of the server under 4 senders: every acknowledged message shown once, in order', async () => {
    sqlite = await runCrashSoak({ ...base, store: 'sqlite', kills: 3 });
    assertKept(sqlite);
  });

  it('SQLite: no acknowledged message is lost or stalled until its recipient reconnects', {
    todo: 'known (docs/reliability.md, "Crash loops"): acknowledged one-to-one messages that never reach their recipient (not in its history either), and deliveries that stop until the recipient reconnects',
  }, () => {
    assert.ok(sqlite !== undefined);
    assert.deepEqual({ lost: sqlite.lost, stalled: sqlite.stalledUntilReopen }, { lost: 0, stalled: 0 });
  });

  it('SQLite: no redelivered group message is refused as undecryptable', {
    todo: 'known (docs/reliability.md): a group message processed but not yet acknowledged when the server dies is delivered again and refused ("could not decrypt the group message")',
  }, () => {
    assert.ok(sqlite !== undefined);
    assert.equal(sqlite.groupRejected, 0);
  });

  it('PostgreSQL + NATS, two nodes, 2 SIGKILLs of either node', async (t) => {
    const reason = await servicesReason();
    if (reason !== undefined) return t.skip(reason);
    const s = await runCrashSoak({ ...base, store: 'postgres', kills: 2 });
    assert.equal(s.nodes, 2);
    assertKept(s);
  });

  it('a receiving client process SIGKILLed while messages arrive shows and stores each once, in order', async () => {
    const s = await runClientKill({ kills: 3, messages: 150 });
    const { lost, duplicated, outOfOrder, undecryptable } = s;
    assert.deepEqual(
      { lost, duplicated, outOfOrder, undecryptable },
      { lost: 0, duplicated: 0, outOfOrder: 0, undecryptable: 0 },
      JSON.stringify(s),
    );
    assert.ok(s.acked > 0 && s.killedWhileReceiving > 0, JSON.stringify(s));
  });

  it('a server SIGKILLed during a migration comes up consistent', async () => {
    const s = await runMigrationKill({ rows: 50_000, kills: 2 });
    assert.ok(s.consistent, JSON.stringify(s));
    assert.ok(s.kills > 0, JSON.stringify(s));
  });
});
