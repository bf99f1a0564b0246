/**
 * What a new user runs into in the first ten minutes (issue 23), in Chromium: long conversations
 * (the newest message above the compose bar, the unread divider, "New messages ↓", windowing)
 * at desktop and phone width, a taken name at registration, and a group whose member list has
 * an unknown name. A Node SDK client ("bot") sends the bulk traffic.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ParleyClient, registerAccount } from '@parley/client';
import { startServer } from '@parley/server';
import {
  axeViolations,
  type BrowserWorld,
  browserMissing,
  bubble,
  buildWeb,
  createBrowserWorld,
  openChat,
  type Person,
  register,
  say,
  screenshot,
} from './harness.ts';

/** Whether the bubble with `text` is wholly visible inside the message list, above the compose bar. */
async function fullyShown(p: Person, text: string): Promise<boolean> {
  return p.page.evaluate((t) => {
    const list = document.querySelector('.messages');
    const compose = document.querySelector('.compose');
    const msg = Array.from(document.querySelectorAll('.msg')).find((m) => m.querySelector('.text')?.textContent === t);
    if (!list || !compose || !msg) return false;
    const l = list.getBoundingClientRect();
    const m = msg.getBoundingClientRect();
    const c = compose.getBoundingClientRect();
    return m.top >= l.top - 1 && m.bottom <= l.bottom + 1 && m.bottom <= c.top + 1 && m.height > 0;
  }, text);
}

/** Polls `check` until it holds (the page renders after the client's events). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the browser client, first ten minutes', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  let alice: Person;
  let phone: Person;
  let bot: ParleyClient;
  /** Sends `count` numbered lines from the bot to `to` and waits until the server has them. */
  const burst = async (to: string, prefix: string, count: number) => {
    for (let i = 1; i <= count; i++) await bot.sendAndWait(to, `${prefix} ${i}`);
  };

  before(async () => {
    world = await createBrowserWorld();
    alice = await world.person('alice');
    phone = await world.person('pia', { width: 390, height: 844 });
    await register(alice);
    await register(phone);
    bot = await registerAccount({ home: join(world.dir, 'bot'), name: 'bot', server: world.server.url });
  });
  after(async () => {
    await bot?.close();
    await world?.close();
  });

  it('opens a long conversation at the first unread message, under an "Unread messages" divider', async () => {
    await openChat(alice, 'bot');
    await say(alice, 'hello bot');
    await bubble(alice, 'hello bot')
      .getByRole('img', { name: /Sent|Delivered/ })
      .waitFor();
    await alice.page.goto(`${world.server.url}/#/`);
    await burst('alice', 'early', 30);
    await alice.page.locator('.conversation-list a[data-peer="bot"] [data-testid="unread"]').waitFor();
    await until(
      '30 unread',
      async () =>
        (
          await alice.page
            .locator('.conversation-list a[data-peer="bot"] [data-testid="unread"]')
            .getAttribute('data-count')
        )?.trim() === '30',
    );
    await openChat(alice, 'bot');
    const divider = alice.page.getByTestId('unread-divider');
    await divider.waitFor();
    assert.equal(await divider.textContent(), 'Unread messages');
    // The first unread line is on screen right under the divider; the newest is further down.
    await until('the first unread line shown', () => fullyShown(alice, 'early 1'));
    await screenshot(alice, 'ux-unread-divider');
    assert.equal(await fullyShown(alice, 'early 30'), false);
    // Opening the conversation moves focus to its compose box.
    assert.equal(await alice.page.evaluate(() => document.activeElement?.id), 'compose-text');
    await screenshot(alice, 'ux-unread-divider');
  });

  it('the newest message is never under the compose bar: scrolled to, sent and received', async () => {
    await alice.page.locator('.messages').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await until('the newest line above the compose bar', () => fullyShown(alice, 'early 30'));
    await say(alice, 'my own newest line');
    await until('my line shown', () => fullyShown(alice, 'my own newest line'));
    await bot.sendAndWait('alice', 'their newest line');
    await until('their line shown', () => fullyShown(alice, 'their newest line'));
    await screenshot(alice, 'ux-newest-visible-desktop');
  });

  it('while the reader is scrolled up, new lines wait behind a "New messages ↓" button', async () => {
    await alice.page.locator('.messages').evaluate((el) => {
      el.scrollTop = 0;
    });
    await bot.sendAndWait('alice', 'arrived while reading');
    const button = alice.page.getByRole('button', { name: 'New messages ↓' });
    await button.waitFor();
    assert.equal(await fullyShown(alice, 'arrived while reading'), false);
    await screenshot(alice, 'ux-new-messages-button');
    await button.click();
    await until('the new line shown', () => fullyShown(alice, 'arrived while reading'));
    await button.waitFor({ state: 'detached' });
  });

  it('renders only the visible part of a long conversation', async () => {
    await burst('alice', 'bulk', 170);
    await until('the last bulk line shown', () => fullyShown(alice, 'bulk 170'));
    const inPage = await alice.page.locator('.msg').count();
    assert.ok(inPage < 80, `expected a window of the 200+ messages, found ${inPage} in the page`);
    // Scrolling to the top brings the oldest lines back.
    await alice.page.locator('.messages').evaluate((el) => {
      el.scrollTop = 0;
    });
    await until('the oldest line shown', () => fullyShown(alice, 'hello bot'));
  });

  it('at phone width too, for sender and receiver', async () => {
    await burst('pia', 'to phone', 25);
    await phone.page.locator('.conversation-list a[data-peer="bot"]').click();
    await phone.page.getByTestId('unread-divider').waitFor();
    await phone.page.locator('.messages').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await until('the newest line above the compose bar', () => fullyShown(phone, 'to phone 25'));
    await say(phone, 'sent from the phone');
    await until('the sent line shown', () => fullyShown(phone, 'sent from the phone'));
    await bot.sendAndWait('pia', 'reply to the phone');
    await until('the reply shown', () => fullyShown(phone, 'reply to the phone'));
    await screenshot(phone, 'ux-newest-visible-phone');
    // Every phone-width screen has a way back.
    for (const screen of ['devices', 'new-group', 'safety/bot']) {
      await phone.page.goto(`${world.server.url}/#/${screen}`);
      await phone.page.getByRole('link', { name: /^Back to/ }).waitFor();
    }
    await screenshot(phone, 'ux-phone-back');
    await phone.page.goto(`${world.server.url}/#/`);
  });
  it('a taken name says so, and another name works at once in the same browser', async () => {
    const eve = await world.person('eve');
    await eve.page.getByLabel('Account name').fill('alice');
    await eve.page.getByRole('button', { name: 'Create account' }).click();
    await eve.page.getByRole('alert').getByText('That name is taken. Try another name.').waitFor();
    await screenshot(eve, 'ux-name-taken');
    // Only one "Create account" button: the tab says "New account".
    assert.equal(await eve.page.getByRole('button', { name: 'Create account' }).count(), 1);
    await register(eve);
    assert.equal(
      await eve.page
        .locator('.me')
        .textContent()
        .then((t) => t?.startsWith('eve')),
      true,
    );
    // The first device has a name.
    await eve.page.goto(`${world.server.url}/#/devices`);
    await eve.page.locator('.devices li[data-device="1"]', { hasText: 'browser' }).waitFor();
  });

  it('a group whose member list has an unknown name is not created, and the retry makes exactly one', async () => {
    await alice.page.goto(`${world.server.url}/#/new-group`);
    await alice.page.getByLabel('Group name').fill('Trip');
    await alice.page.getByLabel(/^Members/).fill('bot, nobody-here');
    await alice.page.getByRole('button', { name: 'Create group' }).click();
    await alice.page
      .getByRole('alert')
      .getByText(/nobody-here.*No group was created/)
      .waitFor();
    await screenshot(alice, 'ux-group-unknown-member');
    assert.equal(await alice.page.locator('.conversation-list a', { hasText: 'Trip' }).count(), 0);
    await alice.page.getByLabel(/^Members/).fill('bot');
    await alice.page.getByRole('button', { name: 'Create group' }).click();
    await alice.page.getByRole('heading', { level: 2, name: 'Trip' }).waitFor();
    await alice.page.locator('.conversation-list a', { hasText: 'Trip' }).waitFor();
    assert.equal(await alice.page.locator('.conversation-list a', { hasText: 'Trip' }).count(), 1);
    await until('bot to join', async () => bot.groups().length > 0);
    assert.deepEqual(
      bot.groups().map((g) => g.name),
      ['Trip'],
    );
  });
  it('a background tab raises notifications (hide content and mute respected) and shows the unread count', async () => {
    const nora = await world.person('nora');
    // The browser's notifications and tab visibility are stood in for, so that what the page asks for is seen.
    // (A string, so that the test's compiler adds no helpers the page does not have.)
    await nora.context.addInitScript({
      content: `
        window.__notes = [];
        window.__hidden = false;
        Object.defineProperty(document, 'visibilityState', { get: () => (window.__hidden ? 'hidden' : 'visible') });
        document.hasFocus = () => !window.__hidden;
        function FakeNotification(title, options) {
          window.__notes.push({ title, body: options && options.body, tag: options && options.tag });
          this.onclick = null;
          this.close = () => {};
        }
        FakeNotification.permission = 'granted';
        FakeNotification.requestPermission = async () => 'granted';
        window.Notification = FakeNotification;
      `,
    });
    await nora.page.reload();
    await register(nora);
    const notes = () =>
      nora.page.evaluate(() => (window as unknown as { __notes: { title: string; body: string }[] }).__notes);
    const hide = (hidden: boolean) =>
      nora.page.evaluate((h) => {
        (window as unknown as { __hidden: boolean }).__hidden = h;
      }, hidden);
    await bot.sendAndWait('nora', 'seen in the foreground');
    await nora.page.locator('.conversation-list a[data-peer="bot"]').waitFor();
    assert.deepEqual(await notes(), []);
    await hide(true);
    await bot.sendAndWait('nora', 'hello in the background');
    await until('a notification', async () => (await notes()).length === 1);
    assert.deepEqual(await notes(), [{ title: 'bot', body: 'hello in the background', tag: 'bot' }]);
    await until('the count in the title', async () => (await nora.page.title()) === '(2) Parley');
    assert.equal(await nora.page.locator('link[rel="icon"]').getAttribute('href'), '/favicon-unread.svg');
    // "Hide content": the notification says only that there is a message.
    await hide(false);
    await nora.page.goto(`${world.server.url}/#/devices`);
    await nora.page.getByLabel(/^Hide content/).check();
    await screenshot(nora, 'ux-notification-settings');
    await hide(true);
    await bot.sendAndWait('nora', 'private words');
    await until('a second notification', async () => (await notes()).length === 2);
    assert.deepEqual((await notes())[1], { title: 'bot', body: 'New message', tag: 'bot' });
    // A muted conversation raises none.
    await nora.page.evaluate(() => localStorage.setItem('parley-muted', JSON.stringify(['bot'])));
    await bot.sendAndWait('nora', 'muted line');
    await until('the count to reach 4', async () => (await nora.page.title()) === '(4) Parley');
    assert.equal((await notes()).length, 2);
    // Reading the conversation clears the count.
    await hide(false);
    await nora.page.locator('.conversation-list a[data-peer="bot"]').click();
    await until('the count cleared', async () => (await nora.page.title()) === 'Parley');
    assert.equal(await nora.page.locator('link[rel="icon"]').getAttribute('href'), '/favicon.svg');
  });

  it('axe-core finds no WCAG 2 A/AA violations on the main screens, light and dark, desktop and phone', async () => {
    const found: string[] = [];
    for (const scheme of ['light', 'dark'] as const) {
      for (const p of [alice, phone]) {
        await p.page.emulateMedia({ colorScheme: scheme });
        for (const screen of ['', 'chat/bot', 'devices', 'new-group', 'safety/bot']) {
          await p.page.goto(`${world.server.url}/#/${screen}`);
          await p.page.getByRole('status', { name: 'connection: connected' }).waitFor();
          if (screen === 'chat/bot') await p.page.locator('.msg').first().waitFor();
          if (screen.startsWith('safety')) await p.page.getByTestId('safety-digits').waitFor();
          for (const v of await axeViolations(p)) found.push(`${p.name} ${scheme} #/${screen} ${v}`);
        }
      }
    }
    await alice.page.emulateMedia({ colorScheme: 'light' });
    await phone.page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(found, []);
  });

  it('offline: a banner, lines marked waiting, and the app opens without the server from a checked copy of the bundle', async () => {
    const listing = await (await fetch(`${world.server.url}/web-bundle.txt`)).text();
    const listed = listing
      .trim()
      .split('\n')
      .map((l) => `/${l.slice(66)}`)
      .sort();
    // The worker has cached exactly the listed files (and its completeness marker), nothing else.
    const cached = async (): Promise<string[]> =>
      alice.page.evaluate(async () => {
        const out: string[] = [];
        for (const name of await caches.keys()) {
          const cache = await caches.open(name);
          for (const r of await cache.keys()) out.push(new URL(r.url).pathname);
        }
        return out.sort();
      });
    await until('the bundle cached', async () => (await cached()).includes('/.parley-complete'));
    assert.deepEqual(
      (await cached()).filter((p) => p !== '/.parley-complete'),
      listed,
    );
    await openChat(alice, 'bot');
    const port = Number(new URL(world.server.url).port);
    await world.server.close();
    await alice.page.getByTestId('offline-banner').waitFor();
    await say(alice, 'sent while offline');
    await bubble(alice, 'sent while offline')
      .getByRole('img', { name: 'Waiting: will be sent when reconnected' })
      .waitFor();
    await screenshot(alice, 'ux-offline-waiting');
    // Reloading with the server down opens the app from the cache, with its history.
    await alice.page.reload();
    await alice.page.getByTestId('offline-banner').waitFor();
    await openChat(alice, 'bot');
    await bubble(alice, 'sent while offline').waitFor();
    await bubble(alice, 'bulk 170').waitFor();
    await screenshot(alice, 'ux-offline-reload');
    // The server comes back: the waiting line goes out.
    const again = await startServer({ port, dataDir: world.dataDir, logLevel: 'silent', webDir: buildWeb() });
    try {
      // The page retries with a backoff of at most 10 s.
      await alice.page.getByTestId('offline-banner').waitFor({ state: 'detached', timeout: 30_000 });
      await bubble(alice, 'sent while offline')
        .getByRole('img', { name: /Sent|Delivered|Read/ })
        .waitFor();
    } finally {
      await again.close();
    }
  });
});
