/**
 * Per-message actions in the browser (docs/protocol.md §12.1), two browser profiles in
 * Chromium: bob reacts to and replies to alice's message, alice edits it and then deletes it
 * for everyone; each shows on the other side. Screenshots in artifacts/screenshots.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  axeViolations,
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

/** Opens the actions of the bubble holding `text`. */
async function actions(p: Person, text: string) {
  const b = bubble(p, text).first();
  await b.getByRole('button', { name: 'Message actions' }).click();
  return b;
}

describe('reply, react, edit and delete in the browser', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  let alice: Person;
  let bob: Person;

  before(async () => {
    world = await createBrowserWorld();
    alice = await world.person('alice');
    bob = await world.person('bob');
    await register(alice);
    await register(bob);
    await openChat(alice, 'bob');
    await say(alice, 'meet at the fountain');
    await openChat(bob, 'alice');
    await bubble(bob, 'meet at the fountain').waitFor();
  });
  after(async () => world?.close());

  it('bob reacts and replies; alice sees the count and the quote', async () => {
    const b = await actions(bob, 'meet at the fountain');
    await b.getByRole('button', { name: 'React 👍' }).click();
    await bubble(alice, 'meet at the fountain').getByTestId('reactions').getByText('👍 1').waitFor();
    const again = await actions(bob, 'meet at the fountain');
    await again.getByRole('button', { name: 'Reply', exact: true }).click();
    await again.getByLabel('Reply text').fill('on my way');
    // The open actions and the reply form are labelled and reachable by keyboard.
    assert.deepEqual(await axeViolations(bob), []);
    await screenshot(bob, 'conversation-actions-open');
    await again.getByRole('button', { name: 'Send reply' }).click();
    const reply = bubble(alice, 'on my way');
    await reply.waitFor();
    assert.match((await reply.getByTestId('quote').textContent()) ?? '', /alice\s+meet at the fountain/);
    await screenshot(alice, 'conversation-reaction-reply');
  });

  it('alice edits her message; bob sees the new text marked edited', async () => {
    const b = await actions(alice, 'meet at the fountain');
    await b.getByRole('button', { name: 'Edit' }).click();
    await b.getByLabel('Edited text').fill('meet at the north gate');
    await b.getByRole('button', { name: 'Save edit' }).click();
    const edited = bubble(bob, 'meet at the north gate');
    await edited.getByTestId('edited').waitFor();
    // The old text is replaced (the reply's quote keeps its snippet, as a quote does).
    assert.equal(await bob.page.locator('.msg > .text', { hasText: 'meet at the fountain' }).count(), 0);
    await screenshot(bob, 'conversation-edited');
  });

  it('bob has no edit or delete for alice’s message; alice deletes it for everyone', async () => {
    const theirs = await actions(bob, 'meet at the north gate');
    assert.equal(await theirs.getByRole('button', { name: 'Edit' }).count(), 0);
    assert.equal(await theirs.getByRole('button', { name: 'Delete for everyone' }).count(), 0);
    await theirs.getByRole('button', { name: 'Close message actions' }).click();
    const b = await actions(alice, 'meet at the north gate');
    await b.getByRole('button', { name: 'Delete for everyone' }).click();
    await bob.page.getByTestId('deleted').waitFor();
    assert.equal(await bubble(bob, 'north gate').count(), 0, 'the text is gone from bob’s screen');
    await screenshot(bob, 'conversation-deleted');
    assert.deepEqual([...alice.errors, ...bob.errors], []);
  });
});
