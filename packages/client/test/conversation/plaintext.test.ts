/**
 * The hostile-server check for replies, reactions, edits and deletes (docs/threat-model.md):
 * a recording proxy keeps every frame, and the server's files are read after some changes wait
 * queued for an offline device. Neither holds the text of a reply or an edit, the reaction's
 * emoji, or the markers that would tell a reaction, edit or delete from a message; and a
 * reaction's ciphertext is as long as a short message's.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ParleyClient, registerAccount } from '@parley/client';
import { utf8 } from '@parley/protocol';
import { createWorld, type TestWorld } from '../helpers/env.ts';
import { until } from '../helpers/groups.ts';
import { type RecordingProxy, startRecordingProxy } from '../helpers/recording-proxy.ts';
import { contains, trafficViews } from '../helpers/scan.ts';

describe('the server sees no plaintext of replies, reactions, edits or deletes', () => {
  let world: TestWorld;
  let proxy: RecordingProxy;
  let alice: ParleyClient;
  let bob: ParleyClient;
  const secrets: string[] = [];
  const bodyLengths: { text: number[]; reaction: number[] } = { text: [], reaction: [] };

  /** The lengths of the bodies alice sent to the server while `act` ran. */
  const sendsDuring = async (act: () => Promise<unknown>): Promise<number[]> => {
    const from = proxy.frames.length;
    await act();
    await alice.idle();
    return proxy.frames
      .slice(from)
      .filter((f) => f.toServer && f.data.includes('"op":"send"'))
      .flatMap((f) => (JSON.parse(f.data).args.messages as { body: string }[]).map((m) => m.body.length));
  };

  before(async () => {
    world = await createWorld();
    proxy = await startRecordingProxy(() => world.server.url);
    const reg = (name: string) =>
      registerAccount({ home: world.home(name), name, server: proxy.url, receipts: false, maxBackoffMs: 200 });
    alice = await reg('alice');
    bob = await reg('bob');
    await alice.connect();
    await bob.connect();
    const unique = (label: string) => `${label}-${Math.random().toString(36).slice(2)}`;
    const { id } = await alice.sendAndWait('bob', 'hi');
    await until('bob has it', () => bob.history('alice').some((m) => m.id === id));
    // A text of a few dozen characters and a reaction: the same padded size (a 160-byte bucket).
    bodyLengths.text = await sendsDuring(() =>
      alice.sendAndWait('bob', 'see you at the station at five, bring the map'),
    );
    bodyLengths.reaction = await sendsDuring(() => alice.react('bob', id, '🦄'));
    const replyText = unique('reply-marker');
    const editText = unique('edit-marker');
    secrets.push(replyText, editText, '🦄');
    const r = await bob.reply('alice', id, replyText);
    await until('alice has the reply', () => alice.history('bob').some((m) => m.id === r.id));
    await alice.edit('bob', id, editText);
    await alice.idle();
    // Queued for an offline bob, so the server's database holds them when it is scanned.
    await bob.close();
    const queuedEdit = unique('queued-edit-marker');
    secrets.push(queuedEdit, '🦋');
    await alice.edit('bob', id, queuedEdit);
    await alice.react('bob', id, '🦋');
    await alice.deleteForEveryone('bob', id);
    await alice.idle();
  });
  after(async () => {
    await alice.close();
    await proxy.close();
    await world.close();
  });

  const markers = ['"t":"reaction"', '"t":"edit"', '"t":"delete"', '"mid"', '"mfrom"', '"emoji"', '"re":{'];

  it('no reply or edit text, emoji or content marker in any frame (raw or base64url-decoded)', () => {
    const views = trafficViews(proxy.frames);
    // The scan can see: names travel in the clear, and it finds them.
    assert.ok(views.some((v) => contains(v, utf8('"name":"bob"'))));
    for (const s of [...secrets, ...markers]) {
      assert.ok(!views.some((v) => contains(v, utf8(s))), `found in traffic: ${s.slice(0, 14)}`);
    }
  });

  it('no reply or edit text, emoji or content marker in the database files, WAL included', () => {
    const files = readdirSync(world.dataDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => new Uint8Array(readFileSync(join(e.parentPath, e.name))));
    assert.ok(files.length > 0);
    for (const s of [...secrets, ...markers]) {
      assert.ok(!files.some((b) => contains(b, utf8(s))), `found in the database: ${s.slice(0, 14)}`);
    }
  });

  it('a reaction’s ciphertext is as long as that of a message of a few dozen characters', () => {
    assert.ok(bodyLengths.text.length > 0 && bodyLengths.reaction.length > 0);
    assert.deepEqual(new Set(bodyLengths.reaction), new Set(bodyLengths.text));
  });
});
