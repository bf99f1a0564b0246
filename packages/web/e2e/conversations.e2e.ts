/**
 * Conversations in the browser (issue 23): pin, mute, archive, block and delete from the
 * conversation's header menu. Node SDK clients ("ann", "ben") are the other side.
 */
import assert from 'node:assert/strict';
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

/** Polls `check` until it holds (the page renders after the client's events). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The peers of the conversation list, top to bottom. */
const listed = (p: Person) =>
  p.page.locator('.conversation-list a[data-peer]').evaluateAll((as) => as.map((a) => a.getAttribute('data-peer')));

/** Opens the open conversation's options menu and clicks `testid`. */
async function menu(p: Person, testid: string): Promise<void> {
  const summary = p.page.locator('.conversation-actions summary');
  if ((await p.page.locator('.conversation-actions details[open]').count()) === 0) await summary.click();
  await p.page.getByTestId(testid).click();
}

describe('the browser client: conversation controls', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  let dora: Person;
  let ann: ParleyClient;
  let ben: ParleyClient;

  before(async () => {
    world = await createBrowserWorld();
    dora = await world.person('dora');
    await register(dora);
    const sdk = (name: string) =>
      registerAccount({ home: join(world.dir, name), name, server: world.server.url, receipts: true });
    ann = await sdk('ann');
    ben = await sdk('ben');
    await ann.sendAndWait('dora', 'hello from ann');
    await ben.sendAndWait('dora', 'hello from ben');
    await until('both conversations', async () => (await listed(dora)).length === 2);
  });
  after(async () => {
    await ann?.close();
    await ben?.close();
    await world?.close();
  });

  it('pins (first in the list), mutes and archives from the conversation header', async () => {
    assert.deepEqual(await listed(dora), ['ben', 'ann']);
    await openChat(dora, 'ann');
    await menu(dora, 'pin');
    await until('ann pinned first', async () => (await listed(dora))[0] === 'ann');
    assert.equal(
      await dora.page.locator('a[data-peer="ann"] [data-testid="flags"]').getAttribute('data-flags'),
      'pinned',
    );
    await menu(dora, 'mute');
    await until('ann muted', async () =>
      ((await dora.page.locator('a[data-peer="ann"] [data-testid="flags"]').getAttribute('data-flags')) ?? '').includes(
        'muted',
      ),
    );
    await screenshot(dora, 'conversations-menu');
    await menu(dora, 'archive');
    await until('ann out of the list', async () => (await listed(dora)).join() === 'ben');
    await dora.page.getByTestId('archived-toggle').click();
    assert.deepEqual(await listed(dora), ['ann']);
    await openChat(dora, 'ann');
    await menu(dora, 'archive');
    await dora.page.getByTestId('archived-toggle').click();
    await until('ann back, pinned first', async () => (await listed(dora)).join() === 'ann,ben');
  });

  it('deletes a mistyped conversation', async () => {
    await openChat(dora, 'bobby');
    await say(dora, 'typo');
    await until('bobby listed', async () => (await listed(dora)).includes('bobby'));
    await menu(dora, 'delete');
    await dora.page.getByTestId('delete-confirm').click();
    await until('bobby gone', async () => !(await listed(dora)).includes('bobby'));
    assert.equal(new URL(dora.page.url()).hash, '#/');
  });

  it('blocks a contact: their messages are dropped and no receipt goes back; unblock restores them', async () => {
    await openChat(dora, 'ben');
    await menu(dora, 'block');
    await dora.page.getByText('You blocked ben.').waitFor();
    const { id: dropped } = await ben.sendAndWait('dora', 'while blocked');
    // Ann's line is queued after ben's on dora's one queue: once it shows, ben's was handled.
    await ann.sendAndWait('dora', 'marker from ann');
    await openChat(dora, 'ann');
    await bubble(dora, 'marker from ann').waitFor();
    await openChat(dora, 'ben');
    assert.equal(await bubble(dora, 'while blocked').count(), 0);
    await menu(dora, 'block');
    const { id: kept } = await ben.sendAndWait('dora', 'after unblock');
    await bubble(dora, 'after unblock').waitFor();
    await until('the delivery receipt for the line after unblocking', async () => {
      await ben.idle();
      return ben.history('dora').find((m) => m.id === kept)?.status !== 'sent';
    });
    // The sender's view: what was sent while blocked never got a receipt.
    assert.equal(ben.history('dora').find((m) => m.id === dropped)?.status, 'sent');
    assert.deepEqual(dora.errors, []);
  });
});
