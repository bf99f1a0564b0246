import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ClientEvent, isClientError, memorySink, type ParleyClient } from '@parley/client';
import { createWorld, type TestWorld } from '../helpers/env.ts';

async function nextAttachment(
  events: AsyncIterableIterator<ClientEvent>,
  timeoutMs = 15_000,
): Promise<Extract<ClientEvent, { type: 'attachment' }>> {
  const timer = setTimeout(() => void events.return?.(), timeoutMs);
  try {
    for await (const e of events) if (e.type === 'attachment') return e;
  } finally {
    clearTimeout(timer);
  }
  throw new Error('no attachment event');
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('attachments through the SDK', () => {
  let world: TestWorld;
  let alice: ParleyClient;
  let bob: ParleyClient;
  let alice2: ParleyClient;

  before(async () => {
    world = await createWorld();
    alice = await world.register('alice');
    bob = await world.register('bob');
    alice2 = await world.link(alice, 'alice2');
  });
  after(async () => {
    await world.close();
  });

  it('sends a file by path; the recipient and the sender’s linked device download it, verified, under the name given', async () => {
    const marker = `MARKER-${randomBytes(8).toString('hex')}`;
    const body = Buffer.concat([randomBytes(200_000), Buffer.from(marker), randomBytes(100_000)]);
    const path = join(world.dir, 'photo.jpg');
    writeFileSync(path, body);
    const bobEvents = bob.events();
    const aliceEvents = alice2.events();
    await alice.sendFile('bob', path, { caption: 'the view' });
    for (const [events, who] of [
      [bobEvents, 'bob'],
      [aliceEvents, 'alice2'],
    ] as const) {
      const e = await nextAttachment(events);
      assert.equal(e.attachment.fileName, 'photo.jpg');
      assert.equal(e.attachment.size, body.length);
      assert.equal(e.attachment.contentType, 'image/jpeg');
      assert.equal(e.attachment.caption, 'the view');
      assert.match(e.message.text, /^\[attachment\] photo\.jpg \(300\d+ bytes\) the view$/);
      const dest = join(world.dir, `got-${who}.jpg`);
      assert.equal(await e.attachment.download(dest), dest);
      assert.deepEqual(readFileSync(dest), body);
    }
    // The server's data dir holds the blob, never the file's bytes.
    const files = filesUnder(world.dataDir);
    assert.ok(files.some((f) => f.endsWith('.blob')));
    for (const f of files) assert.ok(!readFileSync(f).includes(marker), `${f} holds the marker`);
  });

  it('sends a file to a group: every member and the sender’s other device get the attachment', async () => {
    const { id } = await alice.createGroup('files', ['bob']);
    const bobEvents = bob.events();
    const alice2Events = alice2.events();
    const body = randomBytes(70_000);
    await alice.sendFileToGroup(id, new File([body], 'group.bin'), { caption: 'for all' });
    for (const events of [bobEvents, alice2Events]) {
      const e = await nextAttachment(events);
      assert.equal(e.attachment.fileName, 'group.bin');
      assert.equal(e.attachment.caption, 'for all');
      const sink = memorySink();
      await e.attachment.download(sink);
      assert.deepEqual(Buffer.from(sink.bytes() ?? new Uint8Array(0)), body);
    }
  });

  it('a zero-byte file arrives as a zero-byte file', async () => {
    const events = bob.events();
    await alice.sendFile('bob', new Blob([]) as Blob, {});
    const e = await nextAttachment(events);
    assert.equal(e.attachment.size, 0);
    const sink = memorySink();
    await e.attachment.download(sink);
    assert.equal(sink.bytes()?.length, 0);
  });

  it('a tampered blob is ATTACHMENT_CORRUPT and leaves no file under the final name; a deleted one is ATTACHMENT_GONE', async () => {
    const events = bob.events();
    await alice.sendFile('bob', new File([randomBytes(150_000)], 'doc.pdf', { type: 'application/pdf' }));
    const e = await nextAttachment(events);
    const blobs = filesUnder(world.dataDir).filter((f) => f.endsWith('.blob'));
    const newest = blobs.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0] as string;
    const bytes = readFileSync(newest);
    bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] as number) ^ 1;
    writeFileSync(newest, bytes);
    const dest = join(world.dir, 'doc.pdf');
    await assert.rejects(e.attachment.download(dest), (err) => isClientError(err, 'ATTACHMENT_CORRUPT'));
    assert.equal(existsSync(dest), false);
    assert.deepEqual(
      readdirSync(world.dir).filter((n) => n.includes('doc.pdf')),
      [],
      'no temporary file is left either',
    );
    const id = Buffer.from(newest.split('/').pop()?.split('.')[0] ?? '', 'hex').toString('base64url');
    await world.server.blobs.store.delete(id);
    await assert.rejects(e.attachment.download(memorySink()), (err) => isClientError(err, 'ATTACHMENT_GONE'));
  });

  it('a file above the server’s largest attachment is refused before any upload', async () => {
    const small = await createWorld({ limits: { maxAttachmentBytes: 1000 } });
    try {
      const a = await small.register('ann');
      await small.register('ben');
      await assert.rejects(
        a.sendFile('ben', new Blob([new Uint8Array(5000)])),
        (err) => isClientError(err, 'SERVER_REFUSED') && err.relayCode === 'ATTACHMENT_TOO_LARGE',
      );
    } finally {
      await small.close();
    }
  });
});
