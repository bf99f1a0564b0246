/**
 * Accessibility of the messenger shell (issue 23): a skip link, keyboard shortcuts listed under
 * `?`, each message read with its sender, and only the newest incoming message announced live.
 * axe-core stays clean on the screens with the new parts (the dialog open too).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ParleyClient, registerAccount } from '@parley/client';
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

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's WCAG 2 A/AA violations on the page as it is now. */
async function axeViolations(p: Person): Promise<string[]> {
  await p.page.evaluate(AXE_SOURCE);
  return p.page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(o: unknown): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> };
      }
    ).axe;
    const r = await axe.run({ runOnly: ['wcag2a', 'wcag2aa'] });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
  });
}

describe('the browser client: skip link, shortcuts, announcements', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  let fay: Person;
  let ann: ParleyClient;

  before(async () => {
    world = await createBrowserWorld();
    fay = await world.person('fay');
    await register(fay);
    ann = await registerAccount({ home: join(world.dir, 'ann'), name: 'ann', server: world.server.url });
    await ann.sendAndWait('fay', 'first line');
  });
  after(async () => {
    await ann?.close();
    await world?.close();
  });

  it('"Skip to messages" comes first in the page, and moves focus to the messages', async () => {
    await openChat(fay, 'ann');
    await bubble(fay, 'first line').waitFor();
    const first = await fay.page.evaluate(
      () => document.querySelector('button, a[href], input, select, textarea, [tabindex]')?.textContent,
    );
    assert.equal(first, 'Skip to messages');
    await fay.page.getByRole('button', { name: 'Skip to messages' }).focus();
    await fay.page.keyboard.press('Enter');
    assert.equal(await fay.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Messages');
  });

  it('? lists the keyboard shortcuts in a dialog; Escape closes it', async () => {
    await fay.page.keyboard.press('?');
    const dialog = fay.page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await dialog.waitFor();
    assert.match((await dialog.textContent()) ?? '', /Show this list of shortcuts/);
    await screenshot(fay, 'a11y-shortcuts');
    assert.deepEqual(await axeViolations(fay), []);
    await fay.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    // `/` goes to the "Message someone" field.
    await fay.page.keyboard.press('/');
    assert.equal(await fay.page.evaluate(() => document.activeElement?.id), 'start-name');
  });

  it('each message carries its sender for screen readers; only the newest incoming one is live', async () => {
    await openChat(fay, 'ann');
    await say(fay, 'my reply');
    await bubble(fay, 'my reply').waitFor();
    const srOf = (text: string) => bubble(fay, text).locator('.sr-only').first().textContent();
    assert.equal(await srOf('my reply'), 'You:');
    assert.equal(await srOf('first line'), 'ann:');
    // Opening the conversation and sending our own line announced nothing new.
    const live = fay.page.getByTestId('live-announcer');
    assert.equal(await live.textContent(), 'ann: first line');
    assert.equal(await fay.page.locator('[aria-live]:not([data-testid="live-announcer"]) .msg').count(), 0);
    await ann.sendAndWait('fay', 'second line');
    await bubble(fay, 'second line').waitFor();
    assert.equal(await live.textContent(), 'ann: second line');
    await ann.sendAndWait('fay', 'third line');
    await bubble(fay, 'third line').waitFor();
    assert.equal(await live.textContent(), 'ann: third line');
    assert.deepEqual(await axeViolations(fay), []);
    assert.deepEqual(fay.errors, []);
  });
});
