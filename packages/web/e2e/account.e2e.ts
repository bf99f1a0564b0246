/**
 * The account settings in the browser (issue 23, "Account"): the server the keys talk to and
 * the web bundle's digest, and "Delete my account": the server forgets the account, this
 * browser's home is gone, and a contact sending to it is told so.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isClientError, type ParleyClient, registerAccount } from '@parley/client';
import { bundleDigest } from '@parley/server';
import {
  type BrowserWorld,
  browserMissing,
  buildWeb,
  createBrowserWorld,
  openChat,
  type Person,
  register,
  say,
  screenshot,
} from './harness.ts';

describe('the browser client: account settings and deletion', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  let gil: Person;
  let hal: Person;
  let ann: ParleyClient;

  before(async () => {
    world = await createBrowserWorld();
    gil = await world.person('gil');
    hal = await world.person('hal');
    await register(gil);
    await register(hal);
    ann = await registerAccount({ home: join(world.dir, 'ann'), name: 'ann', server: world.server.url });
    await ann.sendAndWait('gil', 'hi gil');
    await openChat(hal, 'gil');
    await say(hal, 'hi from hal');
    await hal.page
      .locator('.msg[data-status="sent"], .msg[data-status="delivered"], .msg[data-status="read"]')
      .first()
      .waitFor();
  });
  after(async () => {
    await ann?.close();
    await world?.close();
  });

  it('shows the server and the web bundle digest the server computes', async () => {
    await gil.page.goto(`${world.server.url}/#/devices`);
    assert.equal(await gil.page.getByTestId('server-url').textContent(), world.server.url);
    const expected = bundleDigest(buildWeb()).digest;
    await gil.page
      .getByTestId('web-digest')
      .filter({ hasText: /^[0-9a-f]{64}$/ })
      .waitFor();
    assert.equal(await gil.page.getByTestId('web-digest').textContent(), expected);
  });

  it('deletes the account after the name is typed; contacts are told it is gone', async () => {
    const button = gil.page.getByRole('button', { name: 'Delete my account' });
    assert.equal(await button.isDisabled(), true);
    await gil.page.getByLabel('Type your account name to confirm').fill('gil');
    await screenshot(gil, 'account-delete');
    await button.click();
    // Back at the welcome screen: this browser holds no account any more.
    await gil.page.getByRole('button', { name: 'Create account' }).waitFor();
    await assert.rejects(ann.sendAndWait('gil', 'still there?'), (e) => {
      assert.ok(isClientError(e));
      return e.code === 'UNKNOWN_ACCOUNT' || (e.code === 'SERVER_REFUSED' && e.relayCode === 'UNKNOWN_ACCOUNT');
    });
    // A browser contact sees it in the conversation.
    await say(hal, 'are you there?');
    await hal.page
      .getByRole('alert')
      .filter({ hasText: 'there is no account named gil on the server (it was deleted, or never existed)' })
      .waitFor();
  });
});
