/**
 * An account registered before its server had a key directory (docs/protocol.md §20, "Pinning"):
 * its home holds no directory keys, and the next connect pins them from the `auth` answer (trust
 * on first use, said by a `directory-pinned` event), so from then on its lookups are checked.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type ClientEvent, HOME_DB_FILE, openClient } from '@parley/client';
import Database from 'better-sqlite3';
import { createWorld, type TestWorld } from '../helpers/env.ts';
import { within } from '../helpers/within.ts';

describe('directory keys pinned on connect for an account that has none', () => {
  let world: TestWorld | undefined;
  after(async () => {
    await world?.close();
  });

  it('pins them from the auth answer (tofu) and reports it', async () => {
    world = await createWorld();
    const first = await world.register('old-alice');
    const pinned = first.directoryStatus().pinned;
    assert.ok(pinned !== undefined && !pinned.tofu, 'registration pins the keys');
    await first.close();
    // The home as an older client left it: no directory keys.
    const db = new Database(join(world.home('old-alice'), HOME_DB_FILE));
    db.prepare('DELETE FROM kt_pins').run();
    db.close();

    const again = await openClient({ home: world.home('old-alice'), receipts: false });
    try {
      assert.equal(again.directoryStatus().pinned, undefined);
      const events = again.events();
      await again.connect();
      const seen = await within(
        (async () => {
          for await (const e of events) if (e.type === 'directory-pinned') return e;
          return undefined;
        })(),
        10_000,
        'directory-pinned',
      );
      assert.deepEqual(seen, { type: 'directory-pinned', tofu: true, fingerprint: pinned.directoryKey } as ClientEvent);
      const now = again.directoryStatus().pinned;
      assert.equal(now?.directoryKey, pinned.directoryKey);
      assert.equal(now?.tofu, true);
    } finally {
      await again.close();
    }
  });
});
