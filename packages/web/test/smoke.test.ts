import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ClientEvent, type ParleyClient, registerAccount } from '@parley/client';
import { ACCOUNT_NAME_MAX_LENGTH } from '@parley/protocol';
import {
  type BrowserWorld,
  browserMissing,
  bubble,
  createBrowserWorld,
  openChat,
  type Person,
  register,
  say,
} from '../e2e/harness.ts';

// The short browser check inside `npm test`; `npm run test:web` runs the full browser suite.
const missing = browserMissing();

describe('browser client smoke (real Chromium, real relay)', { skip: missing }, () => {
  let world: BrowserWorld;
  let home: string;
  let bob: ParleyClient;
  let alice: Person;
  before(async () => {
    world = await createBrowserWorld();
    home = mkdtempSync(join(tmpdir(), 'parley-smoke-'));
  });
  after(async () => {
    await bob?.close();
    await world?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('a browser user and a Node SDK user chat both ways, with delivery ticks, under the strict CSP', async () => {
    const response = await fetch(world.server.url);
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self' 'wasm-unsafe-eval' 'sha256-/);
    assert.match(csp, /default-src 'none'/);
    assert.doesNotMatch(csp, /'unsafe-inline'|'unsafe-eval'/);

    alice = await world.person('alice');
    // The name field's pattern is built from the protocol's rule: Chromium compiles it (an invalid
    // pattern would be ignored, and every name would pass) and it refuses what the relay refuses.
    const nameField = alice.page.getByLabel('Account name');
    const mismatch = async (name: string) => {
      await nameField.fill(name);
      return nameField.evaluate((el) => (el as HTMLInputElement).validity.patternMismatch);
    };
    for (const bad of ['Alice', 'al', 'a'.repeat(ACCOUNT_NAME_MAX_LENGTH + 1), 'al ice'])
      assert.equal(await mismatch(bad), true, `the form refuses ${JSON.stringify(bad)}`);
    for (const good of ['alice', 'a.b-c_1', 'a'.repeat(ACCOUNT_NAME_MAX_LENGTH)])
      assert.equal(await mismatch(good), false, `the form takes ${JSON.stringify(good)}`);
    await register(alice);
    bob = await registerAccount({ home: join(home, 'bob'), name: 'bob', server: world.server.url, receipts: true });
    const bobEvents = bob.events();

    await openChat(alice, 'bob');
    await say(alice, 'hello from the browser');
    const got = await nextMessage(bobEvents);
    assert.deepEqual([got.sender, got.text], ['alice', 'hello from the browser']);
    // Bob's client sent a delivery receipt: the tick turns into "Delivered".
    await bubble(alice, 'hello from the browser').getByRole('img', { name: 'Delivered' }).waitFor();

    await bob.sendAndWait('alice', 'hello from node');
    await bubble(alice, 'hello from node').waitFor();
    assert.deepEqual(alice.errors, [], 'no console errors or CSP violations');
  });
});

async function nextMessage(events: AsyncIterableIterator<ClientEvent>) {
  for (;;) {
    const r = await events.next();
    if (r.done) throw new Error('events ended');
    if (r.value.type === 'message') return r.value.message;
  }
}
