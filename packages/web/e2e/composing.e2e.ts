/**
 * Composing in the browser (issue 23): a draft per conversation, a compose box that grows and
 * shows the remaining length, automatic text direction, safe links and a small formatting set
 * rendered as elements (never HTML from a message).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_TEXT_BYTES, type ParleyClient, registerAccount } from '@parley/client';
import {
  type BrowserWorld,
  browserMissing,
  bubble,
  createBrowserWorld,
  openChat,
  type Person,
  register,
  screenshot,
} from './harness.ts';

describe('the browser client: composing and showing messages', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  let eve: Person;
  let ann: ParleyClient;
  let ben: ParleyClient;
  const box = () => eve.page.getByLabel('Message', { exact: true });

  before(async () => {
    world = await createBrowserWorld();
    eve = await world.person('eve');
    await register(eve);
    const sdk = (name: string) => registerAccount({ home: join(world.dir, name), name, server: world.server.url });
    ann = await sdk('ann');
    ben = await sdk('ben');
    await ann.sendAndWait('eve', 'hi');
    await ben.sendAndWait('eve', 'hi');
  });
  after(async () => {
    await ann?.close();
    await ben?.close();
    await world?.close();
  });

  it('keeps a draft per conversation across switching', async () => {
    await openChat(eve, 'ann');
    await box().fill('half a thought for ann');
    await openChat(eve, 'ben');
    assert.equal(await box().inputValue(), '');
    await box().fill('for ben');
    await openChat(eve, 'ann');
    assert.equal(await box().inputValue(), 'half a thought for ann');
    await openChat(eve, 'ben');
    assert.equal(await box().inputValue(), 'for ben');
    await box().fill('');
  });

  it('grows with multi-line text, shows the remaining length near the limit, and sets dir=auto', async () => {
    await openChat(eve, 'ann');
    const height = () => box().evaluate((el) => el.getBoundingClientRect().height);
    await box().fill('one');
    const one = await height();
    await box().fill('one\ntwo\nthree\nfour');
    assert.ok((await height()) > one * 2, `the box grew (${one} → ${await height()})`);
    assert.equal(await eve.page.getByTestId('remaining').count(), 0);
    await box().fill('x'.repeat(MAX_TEXT_BYTES - 10));
    assert.equal(await eve.page.getByTestId('remaining').textContent(), '10 left');
    await box().fill('x'.repeat(MAX_TEXT_BYTES + 5));
    assert.equal(await eve.page.getByTestId('remaining').textContent(), '5 over the limit');
    assert.equal(await eve.page.getByRole('button', { name: 'Send' }).isDisabled(), true);
    await box().fill('');
    assert.equal(await box().getAttribute('dir'), 'auto');
    await ann.sendAndWait('eve', 'שלום עולם');
    const rtl = bubble(eve, 'שלום עולם').locator('.text');
    await rtl.waitFor();
    assert.equal(await rtl.getAttribute('dir'), 'auto');
    assert.equal(await rtl.evaluate((el) => getComputedStyle(el).direction), 'rtl');
  });

  it('links are safe anchors and formatting is elements; markup in a message stays text', async () => {
    const hostile = '<img src=x onerror="window.__pwned=1"> *<b>* javascript:alert(1) _it_ `co*de*`';
    await ann.sendAndWait('eve', 'see https://example.org/a?b=1, and *bold* words');
    await ann.sendAndWait('eve', hostile);
    const linked = bubble(eve, 'see https://example.org').locator('.text');
    await linked.waitFor();
    const a = linked.locator('a');
    assert.equal(await a.count(), 1);
    assert.equal(await a.getAttribute('href'), 'https://example.org/a?b=1');
    assert.equal(await a.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await a.getAttribute('target'), '_blank');
    assert.equal(await linked.locator('strong').textContent(), 'bold');
    const text = bubble(eve, 'onerror').locator('.text');
    await text.waitFor();
    await screenshot(eve, 'composing-formatting');
    // No element came from the message's markup: only the formatting set's own.
    assert.equal(await text.locator('img, b, script').count(), 0);
    assert.equal(await text.locator('a').count(), 0);
    assert.equal(await text.locator('strong').textContent(), '<b>');
    assert.equal(await text.locator('em').textContent(), 'it');
    assert.equal(await text.locator('code').textContent(), 'co*de*');
    assert.equal(await text.textContent(), '<img src=x onerror="window.__pwned=1"> <b> javascript:alert(1) it co*de*');
    assert.equal(await eve.page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
    assert.deepEqual(eve.errors, []);
  });
});
