/**
 * The full browser suite (`npm run test:web`): people in their own Chromium contexts, a CLI
 * user in a terminal, one real relay. The tests run in order and build on each other, like a
 * day in the life: chat, reload, phone width, safety numbers, a group with the CLI user, CLI
 * chat, a new linked device, and the key-change banner (held messages, "Send anyway") when
 * someone re-registers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openClient, registerAccount, startLink } from '@parley/client';
import { GROUP_NAME_MAX_LENGTH } from '@parley/protocol';
import { SQLITE_FILE } from '@parley/server';
import Database from 'better-sqlite3';
import {
  type BrowserWorld,
  browserMissing,
  bubble,
  createBrowserWorld,
  openChat,
  type Person,
  register,
  say,
  screenshot,
} from './harness.ts';

const PARLEY = fileURLToPath(new URL('../../cli/bin/parley.js', import.meta.url));
const run = promisify(execFile);

describe('the browser client, end to end', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  let alice: Person;
  let bob: Person;
  let groupId = '';
  const carolHome = () => join(world.dir, 'carol');
  /** Runs the `parley` CLI as carol. */
  const carol = async (...args: string[]): Promise<string> =>
    (await run(process.execPath, [PARLEY, ...args, '--home', carolHome()], { timeout: 60_000 })).stdout;

  before(async () => {
    world = await createBrowserWorld();
    alice = await world.person('alice');
    bob = await world.person('bob');
  });
  after(async () => world?.close());

  it('two people register in their browsers and chat both ways: unread count, delivered and read ticks', async () => {
    await screenshot(alice, 'welcome');
    await register(alice);
    await register(bob);
    await openChat(alice, 'bob');
    await say(alice, 'hi bob, this is alice');
    // Bob's client got it (delivered) while bob has not opened the conversation: one unread.
    await bubble(alice, 'hi bob').getByRole('img', { name: 'Delivered' }).waitFor();
    const badge = bob.page.locator('.conversation-list a[data-peer="alice"] [data-testid="unread"]');
    await badge.waitFor();
    assert.equal(await badge.getAttribute('data-count'), '1');
    await screenshot(bob, 'conversation-list-unread');
    await openChat(bob, 'alice');
    await bubble(bob, 'hi bob, this is alice').waitFor();
    await badge.waitFor({ state: 'detached' }); // opening the conversation clears its unread count
    // Opening it sent a read receipt.
    await bubble(alice, 'hi bob').getByRole('img', { name: 'Read' }).waitFor();
    await say(bob, 'hello alice 👋');
    await bubble(alice, 'hello alice 👋').waitFor();
    assert.equal(await alice.page.locator('.messages .day').first().textContent(), 'Today');
    assert.match((await bubble(alice, 'hello alice').locator('time').textContent()) ?? '', /\d{1,2}:\d{2}/);
    await screenshot(alice, 'conversation-desktop');
  });

  it('a reload keeps the account, its sessions and the history (IndexedDB)', async () => {
    await alice.page.reload();
    await alice.page.getByRole('status', { name: 'connection: connected' }).waitFor();
    await bubble(alice, 'hello alice 👋').waitFor();
    await say(alice, 'still here after a reload');
    await bubble(bob, 'still here after a reload').waitFor();
  });

  it('works at phone width: the list and the open conversation take turns', async () => {
    await bob.page.setViewportSize({ width: 390, height: 844 });
    await bob.page.goto(`${world.server.url}/#/`);
    await bob.page.getByRole('status', { name: 'connection: connected' }).waitFor();
    assert.equal(await bob.page.locator('.pane').isVisible(), false);
    await screenshot(bob, 'phone-list');
    await bob.page.locator('.conversation-list a[data-peer="alice"]').click();
    await bubble(bob, 'still here after a reload').waitFor();
    assert.equal(await bob.page.locator('.sidebar').isVisible(), false);
    await screenshot(bob, 'phone-conversation');
    await bob.page.getByRole('link', { name: 'Back to conversations' }).click();
    await bob.page.locator('.conversation-list').waitFor();
    await bob.page.setViewportSize({ width: 1100, height: 760 });
  });

  it('both sides see the same safety number (digits and QR) and alice marks bob verified', async () => {
    await alice.page.goto(`${world.server.url}/#/safety/bob`);
    await bob.page.goto(`${world.server.url}/#/safety/alice`);
    const digits = async (p: Person) => (await p.page.getByTestId('safety-digits').textContent()) ?? '';
    await alice.page.getByTestId('safety-digits').waitFor();
    await bob.page.getByTestId('safety-digits').waitFor();
    const a = await digits(alice);
    assert.match(a, /^\d{60}$/);
    assert.equal(await digits(bob), a);
    await alice.page.getByRole('img', { name: 'QR code of the safety number with bob' }).waitFor();
    assert.equal(await alice.page.getByTestId('verified-state').textContent(), 'bob is not verified.');
    await screenshot(alice, 'safety-number');
    await alice.page.getByRole('button', { name: 'Mark as verified' }).click();
    await alice.page.getByText('You have verified bob.').waitFor();
  });

  it('alice makes a group with bob and a CLI user; messages flow all ways; an admin removes a member', async () => {
    await carol('register', 'carol', '--server', world.server.url);
    await alice.page.goto(`${world.server.url}/#/new-group`);
    // The form takes no more than the protocol's group-name limit.
    await alice.page.getByLabel('Group name').fill('x'.repeat(GROUP_NAME_MAX_LENGTH + 10));
    assert.equal((await alice.page.getByLabel('Group name').inputValue()).length, GROUP_NAME_MAX_LENGTH);
    await alice.page.getByLabel('Group name').fill('Trip');
    await alice.page.getByLabel(/^Members/).fill('bob, carol');
    await alice.page.getByRole('button', { name: 'Create group' }).click();
    await alice.page.getByRole('heading', { name: 'Trip' }).waitFor();
    groupId = decodeURIComponent(new URL(alice.page.url()).hash).replace('#/chat/group:', '');
    await say(alice, 'group hello');
    await bubble(alice, 'group hello').getByRole('img', { name: 'Sent' }).waitFor();

    await bob.page.locator(`.conversation-list a[data-peer="group:${groupId}"]`).click();
    await bubble(bob, 'group hello').waitFor();
    assert.equal(await bubble(bob, 'group hello').locator('.sender').textContent(), 'alice');
    const received = await carol('receive', '--wait', '3');
    assert.match(received, /\[Trip\] alice: group hello/);
    await carol('send', '--group', groupId, 'from the terminal');
    await bubble(alice, 'from the terminal').waitFor();
    await bubble(bob, 'from the terminal').waitFor();

    await alice.page.getByRole('link', { name: 'Group info' }).click();
    await alice.page.getByRole('heading', { name: 'Members (3)' }).waitFor();
    assert.equal(await alice.page.locator('[data-member="alice"] .admin').count(), 1);
    await screenshot(alice, 'group-info');
    await alice.page.getByRole('button', { name: 'Remove carol' }).click();
    await alice.page.getByRole('heading', { name: 'Members (2)' }).waitFor();
    await bob.page.goto(`${world.server.url}/#/group/${encodeURIComponent(groupId)}`);
    await bob.page.getByRole('heading', { name: 'Members (2)' }).waitFor();
    assert.equal(await bob.page.getByRole('button', { name: /^Remove / }).count(), 0, 'bob is not an admin');
  });

  it('a CLI user and a browser user chat', async () => {
    await carol('send', 'alice', 'hi alice, from a terminal');
    await alice.page.locator('.conversation-list a[data-peer="carol"]').click();
    await bubble(alice, 'hi alice, from a terminal').waitFor();
    await say(alice, 'hi carol, from a browser');
    await bubble(alice, 'hi carol, from a browser').getByRole('img', { name: 'Sent' }).waitFor();
    assert.match(await carol('receive', '--wait', '3'), /alice: hi carol, from a browser/);
  });

  it('bidi overrides in a group name and a message preview are shown, not obeyed', async () => {
    // A right-to-left override makes "Trip<RLO>gpj.exe" read "Tripexe.jpg"; an isolate left open
    // reorders whatever follows it in the list.
    const groupName = 'Trip\u202egpj.exe';
    const created = await carol('group', 'create', groupName, '--members', 'alice');
    const id = /\[([A-Za-z0-9_-]{22})\]/.exec(created)?.[1] ?? '';
    await carol('send', 'alice', 'see \u2067the\u202e attachment');
    const bidi = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
    await alice.page.goto(`${world.server.url}/#/`);
    const groupTitle = alice.page.locator(`.conversation-list a[data-peer="group:${id}"] .title`);
    await groupTitle.waitFor();
    const title = (await groupTitle.textContent()) ?? '';
    assert.doesNotMatch(title, bidi);
    assert.match(title, /^Trip.*gpj\.exe$/);
    const preview = alice.page.locator('.conversation-list a[data-peer="carol"] .preview', { hasText: 'attachment' });
    await preview.waitFor();
    const text = (await preview.textContent()) ?? '';
    assert.doesNotMatch(text, bidi);
    assert.match(text, /see .*the.* attachment/);
    await alice.page.goto(`${world.server.url}/#/chat/${encodeURIComponent(`group:${id}`)}`);
    const heading = alice.page.locator('.conversation h2');
    await heading.waitFor();
    assert.doesNotMatch((await heading.textContent()) ?? '', bidi);
  });

  it('a second browser links as a new device of alice (code and QR), and the device list shows both', async () => {
    const laptop = await world.person('alice-laptop');
    await laptop.page.getByRole('tab', { name: 'Link to an existing account' }).click();
    await laptop.page.getByLabel('Name for this device').fill('laptop');
    await laptop.page.getByRole('button', { name: 'Show link code' }).click();
    const code = (await laptop.page.getByTestId('link-code').textContent()) ?? '';
    assert.match(code, /^[A-Za-z0-9_-]{40,}$/);
    await laptop.page.getByRole('img', { name: 'Link code as a QR code' }).waitFor();
    await screenshot(laptop, 'link-code');
    await alice.page.getByRole('link', { name: 'Devices' }).click();
    await alice.page.getByLabel('Link code').fill(code);
    await alice.page.getByRole('button', { name: 'Link device' }).click();
    await alice.page.getByText('Linked laptop as device 2.').waitFor();
    await laptop.page.getByRole('status', { name: 'connection: connected' }).waitFor();
    assert.equal(await alice.page.locator('.devices li').count(), 2);
    await screenshot(alice, 'devices');
    // The new device receives what is sent to alice from now on.
    await openChat(bob, 'alice');
    await say(bob, 'do both your devices get this?');
    await openChat(laptop, 'bob');
    await bubble(laptop, 'do both your devices get this?').waitFor();
  });

  it('a passphrase-protected home: IndexedDB holds only ciphertext, a reload asks for the passphrase', async () => {
    const dora = await world.person('dora');
    await dora.page.getByLabel('Account name').fill('dora');
    await dora.page.getByLabel(/^Passphrase/).fill('correct horse battery');
    await dora.page.getByRole('button', { name: 'Create account' }).click();
    await dora.page.getByRole('status', { name: 'connection: connected' }).waitFor();
    await openChat(dora, 'alice');
    await say(dora, 'secret plans for the weekend');
    await alice.page.locator('.conversation-list a[data-peer="dora"]', { hasText: 'secret plans' }).waitFor();
    const stored = await dora.page.evaluate(async () => {
      const idb = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open('parley');
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      const image = await new Promise<Uint8Array>((resolve) => {
        const r = idb.transaction('homes').objectStore('homes').get('parley');
        r.onsuccess = () => resolve(r.result as Uint8Array);
      });
      const text = new TextDecoder('latin1').decode(image);
      return {
        magic: text.slice(0, 8),
        sqlite: text.includes('SQLite format 3'),
        plain: text.includes('secret plans'),
      };
    });
    assert.deepEqual(stored, { magic: 'PRLYENC1', sqlite: false, plain: false });
    await dora.page.reload();
    await dora.page.getByRole('heading', { name: 'Parley is locked' }).waitFor();
    await screenshot(dora, 'unlock');
    await dora.page.getByLabel('Passphrase').fill('wrong horse');
    await dora.page.getByRole('button', { name: 'Unlock' }).click();
    await dora.page.getByRole('alert').filter({ hasText: 'wrong passphrase' }).waitFor();
    await dora.page.getByLabel('Passphrase').fill('correct horse battery');
    await dora.page.getByRole('button', { name: 'Unlock' }).click();
    await dora.page.getByRole('status', { name: 'connection: connected' }).waitFor();
    await bubble(dora, 'secret plans for the weekend').waitFor();
  });

  /** The operator's swap: the server forgets `name`, so that someone else can register it with new keys. */
  const forget = (name: string): void => {
    const db = new Database(join(world.dataDir, SQLITE_FILE));
    db.pragma('busy_timeout = 5000');
    for (const t of ['devices', 'signed_prekeys', 'one_time_prekeys', 'kem_prekeys']) {
      db.prepare(`DELETE FROM ${t} WHERE account = ?`).run(name);
    }
    db.prepare('DELETE FROM accounts WHERE name = ?').run(name);
    db.close();
  };

  it('shows the key-change banner when bob re-registers, and holds messages to verified bob until verified again', async () => {
    // Bob reinstalls: the server forgets his account and a fresh browser registers the name again.
    forget('bob');
    await bob.context.close();
    const newBob = await world.person('bob');
    await register(newBob);

    await alice.page.goto(`${world.server.url}/#/chat/bob`);
    await alice.page.locator('section.conversation[data-ready]').waitFor();
    // Alice's client may already have seen the new key (her group traffic looks bob up); if not,
    // this message makes it look. Either way it is held, not sent.
    await say(alice, 'are you still you?');
    await bubble(alice, 'are you still you?').getByRole('img', { name: /^Held/ }).waitFor();
    const banner = alice.page.getByTestId('key-change-banner');
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', /held, not sent/);
    assert.match((await banner.textContent()) ?? '', /verify it again/);
    assert.equal(await banner.getByTestId('send-anyway').count(), 0, 'no "send anyway" for a verified contact');
    await screenshot(alice, 'key-change-banner');
    await banner.getByRole('link', { name: 'Compare safety numbers' }).click();
    await alice.page.getByRole('button', { name: 'Numbers match: accept and mark verified' }).click();
    await alice.page.getByText('You have verified bob.').waitFor();
    // Verified: the held message and new ones go to the new key.
    await alice.page.goto(`${world.server.url}/#/chat/bob`);
    await say(alice, 'welcome back, new bob');
    await openChat(newBob, 'alice');
    await bubble(newBob, 'are you still you?').waitFor();
    await bubble(newBob, 'welcome back, new bob').waitFor();
    assert.deepEqual(
      [...alice.errors, ...newBob.errors].filter((e) => !/status of 4\d\d/.test(e)),
      [],
    );
  });

  it('an unverified contact swapped by the operator: the message is held after the notice until "Send anyway"', async () => {
    const newCarolHome = join(world.dir, 'carol-new');
    const newCarol = async (...args: string[]): Promise<string> =>
      (await run(process.execPath, [PARLEY, ...args, '--home', newCarolHome], { timeout: 60_000 })).stdout;
    forget('carol');
    await newCarol('register', 'carol', '--server', world.server.url);
    // The policy is a setting; the default holds every send.
    await alice.page.getByRole('link', { name: 'Devices' }).click();
    assert.equal(await alice.page.getByLabel(/Key-change policy/).inputValue(), 'hold-all');

    await alice.page.goto(`${world.server.url}/#/chat/carol`);
    await alice.page.locator('section.conversation[data-ready]').waitFor();
    await say(alice, 'is this still carol?');
    const held = bubble(alice, 'is this still carol?');
    await held.getByRole('img', { name: /^Held/ }).waitFor();
    const banner = alice.page.getByTestId('key-change-banner');
    await banner.waitFor();
    // The change line comes before the held message.
    const lines = await alice.page.locator('.messages .msg').allTextContents();
    const changeAt = lines.findIndex((l) => l.includes("carol's safety number changed"));
    const heldAt = lines.findIndex((l) => l.includes('is this still carol?'));
    assert.ok(changeAt >= 0 && changeAt < heldAt, JSON.stringify(lines));
    assert.equal(await newCarol('receive'), '', 'nothing reached the new key');
    await screenshot(alice, 'key-change-send-anyway');

    await banner.getByTestId('send-anyway').click();
    await held.getByRole('img', { name: 'Sent' }).waitFor();
    assert.match(await newCarol('receive', '--wait', '3'), /alice: is this still carol\?/);
  });

  it('an operator who hides a removal (old device list served, the notice dropped): a banner says so and nothing is sent', async () => {
    // dave has two devices (list version 2); alice talks with both.
    const daveHome = join(world.dir, 'dave');
    const dave = await registerAccount({ home: daveHome, name: 'dave', server: world.server.url, receipts: false });
    const pending = await startLink({
      home: join(world.dir, 'dave-laptop'),
      server: world.server.url,
      deviceName: 'laptop',
    });
    await dave.acceptLink(pending.code);
    await pending.done;
    const laptop = await openClient({ home: join(world.dir, 'dave-laptop'), receipts: false });
    await laptop.connect();
    await openChat(alice, 'dave');
    await say(alice, 'hello both daves');
    await bubble(alice, 'hello both daves')
      .getByRole('img', { name: /Sent|Delivered/ })
      .waitFor();
    await dave.sendAndWait('alice', 'hi from dave');
    await bubble(alice, 'hi from dave').waitFor();
    const db = new Database(join(world.dataDir, SQLITE_FILE));
    db.pragma('busy_timeout = 5000');
    const old = db.prepare('SELECT device_list, list_version FROM accounts WHERE name = ?').get('dave') as {
      device_list: Buffer;
      list_version: number;
    };
    assert.equal(old.list_version, 2);

    // alice's browser is away while dave removes his laptop (list version 3) and tells her.
    await alice.page.goto('about:blank');
    await dave.removeDevice(2);
    await dave.idle();
    await laptop.close();
    // The operator drops what waits for alice (the removal notice) and serves the old list again.
    db.prepare('DELETE FROM queue WHERE account = ?').run('alice');
    db.prepare('UPDATE accounts SET device_list = ?, list_version = ? WHERE name = ?').run(
      old.device_list,
      old.list_version,
      'dave',
    );
    db.close();
    await dave.sendAndWait('alice', 'after my removal');

    await alice.page.goto(`${world.server.url}/#/chat/dave`);
    await bubble(alice, 'after my removal').waitFor();
    const banner = alice.page.getByTestId('device-list-banner');
    await banner.waitFor();
    assert.match((await banner.textContent()) ?? '', /announce device list version 3, but the server serves version 2/);
    await screenshot(alice, 'device-list-stale');
    // Nothing goes to the list the server serves: the send is refused, and says why.
    await say(alice, 'to the stale list?');
    await alice.page
      .locator('p.error', { hasText: /nothing is sent to dave until the newer list arrives/ })
      .or(bubble(alice, 'to the stale list?').getByRole('img', { name: /^Not sent/ }))
      .first()
      .waitFor();
    assert.equal(
      await bubble(alice, 'to the stale list?')
        .getByRole('img', { name: /Sent|Delivered|Read/ })
        .count(),
      0,
    );
    await dave.close();
  });
});
