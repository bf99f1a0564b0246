import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createNodeRandom } from '@parley/protocol/node';
import sqlite3InitModule, { type Sqlite3Static } from '@sqlite.org/sqlite-wasm';
import { isClientError } from '../../src/errors.ts';
import { isEncryptedImage, openEncryptedImageStore } from '../../src/home/encrypted-image-store.ts';
import { createMemoryImageStore, openWasmHomeDatabase } from '../../src/home/wasm-home-database.ts';

// Cheap Argon2id parameters keep the test fast; the browser uses DEFAULT_KDF (64 MiB, t=3).
const KDF = { m: 256, t: 1, p: 1 };
const random = createNodeRandom();
const contains = (hay: Uint8Array, needle: string): boolean => Buffer.from(hay).includes(Buffer.from(needle, 'utf8'));

describe('passphrase-protected home images', () => {
  let sqlite3: Sqlite3Static;
  before(async () => {
    sqlite3 = await sqlite3InitModule();
  });

  it('stores only ciphertext, and reopens with the passphrase', async () => {
    const disk = createMemoryImageStore();
    const db = await openWasmHomeDatabase(sqlite3, await openEncryptedImageStore(disk, 'correct horse', random, KDF));
    db.prepare('INSERT INTO profile (key, value) VALUES (?, ?)').run('secret-note', 'meet at the old mill');
    await db.durable();
    db.close();
    const stored = disk.image() as Uint8Array;
    assert.equal(isEncryptedImage(stored), true);
    assert.equal(contains(stored, 'SQLite format 3'), false);
    assert.equal(contains(stored, 'meet at the old mill'), false);
    const again = await openWasmHomeDatabase(sqlite3, await openEncryptedImageStore(disk, 'correct horse', random));
    assert.equal(
      again.prepare('SELECT value FROM profile WHERE key = ?').pluck().get('secret-note'),
      'meet at the old mill',
    );
    again.close();
  });

  it('refuses a wrong passphrase and an altered image with WRONG_PASSPHRASE', async () => {
    const disk = createMemoryImageStore();
    const db = await openWasmHomeDatabase(sqlite3, await openEncryptedImageStore(disk, 'right', random, KDF));
    await db.durable();
    db.close();
    await assert.rejects(openEncryptedImageStore(disk, 'wrong', random), (e) => isClientError(e, 'WRONG_PASSPHRASE'));
    const altered = (disk.image() as Uint8Array).slice();
    altered[altered.length - 1] = (altered[altered.length - 1] as number) ^ 1;
    await assert.rejects(openEncryptedImageStore(createMemoryImageStore(altered), 'right', random), (e) =>
      isClientError(e, 'WRONG_PASSPHRASE'),
    );
    // The KDF parameters are authenticated too: raising t makes the right passphrase fail.
    const tweaked = (disk.image() as Uint8Array).slice();
    tweaked[15] = 2;
    await assert.rejects(openEncryptedImageStore(createMemoryImageStore(tweaked), 'right', random), (e) =>
      isClientError(e, 'WRONG_PASSPHRASE'),
    );
  });

  it('turns protection on for an unprotected home at its next save', async () => {
    const disk = createMemoryImageStore();
    const plain = await openWasmHomeDatabase(sqlite3, disk);
    plain.prepare('INSERT INTO profile (key, value) VALUES (?, ?)').run('k', 'v');
    await plain.durable();
    plain.close();
    assert.equal(isEncryptedImage(disk.image()), false);
    const db = await openWasmHomeDatabase(sqlite3, await openEncryptedImageStore(disk, 'now locked', random, KDF));
    assert.equal(db.prepare('SELECT value FROM profile WHERE key = ?').pluck().get('k'), 'v');
    db.prepare('INSERT INTO profile (key, value) VALUES (?, ?)').run('k2', 'v2');
    await db.durable();
    db.close();
    assert.equal(isEncryptedImage(disk.image()), true);
  });
});
