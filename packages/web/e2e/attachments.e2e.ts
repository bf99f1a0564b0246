/**
 * Attachments in the browser client, end to end in Chromium: an image sent from one profile
 * shows inline in another (its preview first, then the full image, pixel for pixel), a file
 * downloads with the same SHA-256, a file from an SDK user shows in the browser, progress shows
 * both ways, and an SVG is a file card, never rendered.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ParleyClient, registerAccount } from '@parley/client';
import type { Route } from 'playwright-core';
import {
  type BrowserWorld,
  browserMissing,
  createBrowserWorld,
  openChat,
  type Person,
  register,
  say,
  screenshot,
} from './harness.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A PNG of `width`×`height`, left half red, right half blue, drawn by Chromium itself. */
async function makePng(p: Person, width: number, height: number): Promise<Buffer> {
  const bytes = await p.page.evaluate(
    async ([w, h]) => {
      const canvas = new OffscreenCanvas(w, h);
      const ctx = canvas.getContext('2d') as OffscreenCanvasRenderingContext2D;
      ctx.fillStyle = '#ff0000';
      ctx.fillRect(0, 0, w / 2, h);
      ctx.fillStyle = '#0000ff';
      ctx.fillRect(w / 2, 0, w / 2, h);
      const blob = await canvas.convertToBlob({ type: 'image/png' });
      return Array.from(new Uint8Array(await blob.arrayBuffer()));
    },
    [width, height] as const,
  );
  return Buffer.from(bytes);
}

/** Holds the requests matching `method` to the blob API until `release()`; `held` resolves at the first. */
function holdBlobRequests(p: Person, method: string, skip = 0) {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let heldOne!: () => void;
  const held = new Promise<void>((r) => {
    heldOne = r;
  });
  let seen = 0;
  const handler = async (route: Route) => {
    if (route.request().method() !== method || seen++ < skip) return route.continue();
    heldOne();
    await released;
    await route.continue().catch(() => {});
  };
  return {
    held,
    async start() {
      await p.context.route('**/v1/blobs/**', handler);
    },
    async release() {
      release();
      await p.context.unroute('**/v1/blobs/**', handler);
    },
  };
}

/** The last message bubble of the open conversation that holds an attachment. */
const lastAttachment = (p: Person) => p.page.locator('.msg', { has: p.page.getByTestId('attachment') }).last();

describe('attachments in the browser client', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  let alice: Person;
  let bob: Person;
  let home: string;
  let carol: ParleyClient | undefined;

  before(async () => {
    world = await createBrowserWorld();
    home = mkdtempSync(join(tmpdir(), 'parley-att-e2e-'));
    alice = await world.person('alice');
    bob = await world.person('bob');
    await register(alice);
    await register(bob);
    await openChat(alice, 'bob');
    await say(alice, 'files coming');
    await openChat(bob, 'alice');
    await bob.page.locator('.msg', { hasText: 'files coming' }).waitFor();
  });
  after(async () => {
    await carol?.close();
    await world?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('an image sent with the attach button shows inline in the other profile: preview first, then the full image', async () => {
    const png = await makePng(alice, 640, 480);
    const download = holdBlobRequests(bob, 'GET');
    await download.start();
    await alice.page
      .getByTestId('attach-input')
      .setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: png });
    // The sender sees its own image once sent.
    const mine = lastAttachment(alice).getByTestId('attachment-image');
    await mine.waitFor();
    // Bob's download is held: the encrypted preview from the message shows, with the download at 0 %.
    await download.held;
    const bubble = lastAttachment(bob);
    const thumb = bubble.getByTestId('attachment-thumbnail');
    await thumb.waitFor();
    const thumbSize = await thumb.evaluate((img: HTMLImageElement) => [img.naturalWidth, img.naturalHeight]);
    assert.deepEqual(thumbSize, [320, 240], 'the preview is the image scaled to 320 px');
    await bubble.getByTestId('attachment-progress').waitFor();
    assert.match((await bubble.getByTestId('attachment-progress').textContent()) ?? '', /\d+%/);
    await screenshot(bob, 'attachment-image-preview');
    await download.release();
    const img = bubble.getByTestId('attachment-image');
    await img.waitFor();
    await img.evaluate((el: HTMLImageElement) => el.decode());
    const seen = await img.evaluate((el: HTMLImageElement) => {
      const canvas = document.createElement('canvas');
      canvas.width = el.naturalWidth;
      canvas.height = el.naturalHeight;
      const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
      ctx.drawImage(el, 0, 0);
      // No named helpers here: the page runs this source as is.
      return {
        width: el.naturalWidth,
        height: el.naturalHeight,
        src: el.src,
        left: Array.from(ctx.getImageData(10, 240, 1, 1).data),
        right: Array.from(ctx.getImageData(630, 240, 1, 1).data),
      };
    });
    assert.equal(seen.width, 640);
    assert.equal(seen.height, 480);
    assert.match(seen.src, /^blob:/);
    assert.deepEqual(seen.left, [255, 0, 0, 255]);
    assert.deepEqual(seen.right, [0, 0, 255, 255]);
    assert.equal(await bubble.getByTestId('attachment-thumbnail').count(), 0, 'the full image replaced the preview');
    await screenshot(bob, 'attachment-image');
  });

  it('a file shows upload progress on the outgoing bubble, and downloads in the other profile with the same SHA-256', async () => {
    // 9 MiB: three PATCHes of at most 4 MiB; the second is held, so the sender's bubble shows a partial percentage.
    const body = randomBytes(9 * 1024 * 1024);
    const upload = holdBlobRequests(alice, 'PATCH', 1);
    await upload.start();
    const file = join(home, 'report.pdf');
    writeFileSync(file, body);
    await alice.page.getByTestId('attach-input').setInputFiles(file);
    await upload.held;
    const sending = alice.page.getByTestId('upload');
    await sending.waitFor();
    await alice.page.waitForFunction(() =>
      /\b[1-9]\d?%/.test(
        document.querySelector('[data-testid=upload] [data-testid=attachment-progress]')?.textContent ?? '',
      ),
    );
    assert.match((await sending.textContent()) ?? '', /report\.pdf/);
    await screenshot(alice, 'attachment-upload-progress');
    await upload.release();
    await sending.waitFor({ state: 'detached', timeout: 60_000 });

    const card = lastAttachment(bob).getByTestId('attachment-card');
    await card.filter({ hasText: 'report.pdf' }).waitFor({ timeout: 30_000 });
    assert.match((await card.textContent()) ?? '', /9\.4 MB/);
    const [download] = await Promise.all([
      bob.page.waitForEvent('download', { timeout: 60_000 }),
      card.getByRole('button', { name: 'Download report.pdf' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'report.pdf');
    const path = await download.path();
    assert.equal(sha256(readFileSync(path)), sha256(body));
    assert.equal(await lastAttachment(bob).getByTestId('attachment-image').count(), 0);
  });

  it('an SVG is shown as a file card, never rendered', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><script>window.__svgRan = 1</script><rect width="100" height="100" fill="red"/></svg>',
    );
    await alice.page
      .getByTestId('attach-input')
      .setInputFiles({ name: 'logo.svg', mimeType: 'image/svg+xml', buffer: svg });
    const bubble = bob.page.locator('.msg', { hasText: 'logo.svg' });
    await bubble.getByTestId('attachment-card').waitFor();
    await bubble.getByRole('button', { name: 'Download logo.svg' }).waitFor();
    // The card's own line icon (svg.icon, static markup of the page) is the only SVG allowed.
    assert.equal(await bubble.locator('img, svg:not(.icon), object, iframe, embed').count(), 0);
    assert.equal(await bob.page.evaluate(() => (window as { __svgRan?: number }).__svgRan), undefined);
    await screenshot(bob, 'attachment-svg-card');
  });

  it('a file sent by an SDK user shows in the browser, an image inline', async () => {
    const png = await makePng(bob, 64, 32);
    carol = await registerAccount({ home: join(home, 'carol'), name: 'carol', server: world.server.url });
    await carol.sendFile('bob', new File([new Uint8Array(png)], 'from-carol.png', { type: 'image/png' }), {
      caption: 'from the SDK',
    });
    await openChat(bob, 'carol');
    const bubble = lastAttachment(bob);
    await bubble.getByTestId('attachment-image').waitFor();
    const size = await bubble.getByTestId('attachment-image').evaluate(async (el: HTMLImageElement) => {
      await el.decode();
      return [el.naturalWidth, el.naturalHeight];
    });
    assert.deepEqual(size, [64, 32]);
    assert.match((await bubble.textContent()) ?? '', /from the SDK/);
    assert.deepEqual(alice.errors.concat(bob.errors), []);
  });

  it('a file dropped onto the conversation and an image pasted into it are sent', async () => {
    await openChat(bob, 'alice');
    const png = await makePng(alice, 40, 20);
    await alice.page.evaluate(
      ([bytes]) => {
        const section = document.querySelector('section.conversation') as HTMLElement;
        const drop = new DataTransfer();
        drop.items.add(new File([new Uint8Array(bytes)], 'dropped.txt', { type: 'text/plain' }));
        section.dispatchEvent(new DragEvent('dragover', { dataTransfer: drop, bubbles: true, cancelable: true }));
        section.dispatchEvent(new DragEvent('drop', { dataTransfer: drop, bubbles: true, cancelable: true }));
      },
      [Array.from(randomBytes(1000))] as const,
    );
    await bob.page.locator('.msg', { hasText: 'dropped.txt' }).getByTestId('attachment-card').waitFor();
    await alice.page.evaluate(
      ([bytes]) => {
        const paste = new DataTransfer();
        paste.items.add(new File([new Uint8Array(bytes)], 'image.png', { type: 'image/png' }));
        (document.getElementById('compose-text') as HTMLElement).dispatchEvent(
          new ClipboardEvent('paste', { clipboardData: paste, bubbles: true, cancelable: true }),
        );
      },
      [Array.from(png)] as const,
    );
    const pasted = bob.page.locator('.msg', { has: bob.page.locator('img[alt="image.png"]') });
    await pasted.waitFor();
    const size = await pasted.locator('img').evaluate(async (el: HTMLImageElement) => {
      await el.decode();
      return [el.naturalWidth, el.naturalHeight];
    });
    assert.deepEqual(size, [40, 20]);
  });
});

describe('voice notes in the browser client', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  before(async () => {
    world = await createBrowserWorld({
      chromiumArgs: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
    });
  });
  after(async () => {
    await world?.close();
  });

  it('a voice note recorded from the (fake) microphone plays inline on the other side', async () => {
    const dana = await world.person('dana');
    const erin = await world.person('erin');
    await register(dana);
    await register(erin);
    await openChat(dana, 'erin');
    await dana.context.grantPermissions(['microphone']);
    await dana.page.getByRole('button', { name: 'Record a voice note' }).click();
    const stop = dana.page.getByRole('button', { name: 'Stop and send the voice note' });
    await stop.waitFor();
    // Let the recorder hand over at least one piece of sound (it does every second) before stopping.
    await dana.page.waitForFunction(() => document.querySelector('[aria-pressed="true"]') !== null);
    await dana.page.waitForTimeout(1500);
    await stop.click();
    await openChat(erin, 'dana');
    const audio = lastAttachment(erin).getByTestId('attachment-audio');
    await audio.waitFor({ timeout: 30_000 });
    const state = await audio.evaluate(async (el: HTMLAudioElement) => {
      if (el.readyState < 1)
        await new Promise((resolve) => el.addEventListener('loadedmetadata', resolve, { once: true }));
      return { src: el.src, ready: el.readyState };
    });
    assert.match(state.src, /^blob:/);
    assert.ok(state.ready >= 1, 'the browser decoded the note’s metadata');
    await screenshot(erin, 'attachment-voice-note');
  });
});
