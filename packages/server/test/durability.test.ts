import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { toBase64Url } from '@parley/protocol';
import { exited as killed, startChild } from './helpers/child-server.ts';
import { authRaw, drainBacklog, random, registerRaw, sendArgs } from './helpers/raw-device.ts';

describe('durability: an acknowledged send survives SIGKILL', () => {
  let dir: string;
  let child: ChildProcess | undefined;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'parley-kill-'));
  });
  after(async () => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('kill -9 right after the ack; after restart the message is delivered exactly once', async () => {
    const dataDir = join(dir, 'data');
    let s = await startChild(0, dataDir);
    child = s.child;
    const port = Number(new URL(s.url).port);
    const alice = await registerRaw(s.url, 'alice');
    const bob = await registerRaw(s.url, 'bob');
    bob.conn.close();
    await bob.conn.closed();

    // Ten sends in flight; SIGKILL the moment the fifth is acknowledged.
    const bodies = Array.from({ length: 10 }, () => random(200));
    const acked: Uint8Array[] = [];
    const pending = bodies.map((b, i) =>
      alice.conn.request('send', sendArgs('bob', b, `kill-test-${i}`)).then(
        (r) => {
          if (r.type === 'response') {
            acked.push(b);
            if (acked.length === 5) s.child.kill('SIGKILL');
          }
        },
        () => {},
      ),
    );
    await Promise.all(pending);
    await killed(s.child);
    assert.ok(acked.length >= 5, `acks before the kill: ${acked.length}`);

    s = await startChild(port, dataDir);
    child = s.child;
    const conn = await authRaw(s.url, 'bob', bob.identity);
    const got: string[] = [];
    got.push(...(await drainBacklog(conn)));
    for (const b of acked) assert.ok(got.includes(toBase64Url(b)), 'an acknowledged message was lost');
    assert.equal(new Set(got).size, got.length, 'a message was delivered twice');
    // Everything delivered is something alice sent, in her order.
    const order = bodies.map((b) => toBase64Url(b));
    assert.deepEqual(
      got,
      order.filter((b) => got.includes(b)),
    );

    // Acknowledged on the device: a later connection gets nothing again.
    await new Promise((r) => setTimeout(r, 100));
    conn.close();
    const again = await authRaw(s.url, 'bob', bob.identity);
    const next = await again.next((x) => x.type === 'deliver' || x.type === 'drained');
    assert.equal(next.type, 'drained');
    again.close();
    s.child.kill('SIGTERM');
    await killed(s.child);
  });
});
