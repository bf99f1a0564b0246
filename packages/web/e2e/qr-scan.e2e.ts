/**
 * Scanning QR codes with the camera (issue 23): Chromium's fake camera plays a Y4M file holding
 * one frame with a QR code drawn from the contact's safety-number payload; the safety screen's
 * scanner reads it with jsQR and marks the contact verified. A wrong code is refused.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ParleyClient, registerAccount } from '@parley/client';
import { toBase64Url } from '@parley/protocol';
import QRCode from 'qrcode';
import { type BrowserWorld, browserMissing, createBrowserWorld, type Person, register, screenshot } from './harness.ts';

const W = 640;
const H = 480;

/** A one-frame Y4M video (4:2:0, full range) of `text` as a QR code, black on white, centred. */
function qrVideo(text: string): Buffer {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const scale = Math.floor(Math.min(W, H) / (n + 8));
  const size = (n + 8) * scale;
  const x0 = Math.floor((W - size) / 2);
  const y0 = Math.floor((H - size) / 2);
  const y = Buffer.alloc(W * H, 255);
  for (let my = 0; my < n; my++) {
    for (let mx = 0; mx < n; mx++) {
      if (!qr.modules.get(my, mx)) continue;
      for (let dy = 0; dy < scale; dy++) {
        const row = (y0 + (my + 4) * scale + dy) * W + x0 + (mx + 4) * scale;
        y.fill(0, row, row + scale);
      }
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\nFRAME\n`), y, chroma]);
}

describe('the browser client: scanning QR codes with the camera', { skip: browserMissing() }, () => {
  let world: BrowserWorld;
  let ivy: Person;
  let ann: ParleyClient;
  let video: string;

  before(async () => {
    video = join(process.env.TMPDIR ?? '/tmp', `parley-qr-${process.pid}.y4m`);
    // Chromium opens the file when the page asks for the camera: it is written just before.
    writeFileSync(video, qrVideo('not a safety number'));
    world = await createBrowserWorld({
      chromiumArgs: [
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        `--use-file-for-fake-video-capture=${video}`,
      ],
    });
    ivy = await world.person('ivy');
    await ivy.context.grantPermissions(['camera'], { origin: world.server.url });
    await register(ivy);
    ann = await registerAccount({ home: join(world.dir, 'ann'), name: 'ann', server: world.server.url });
    await ann.sendAndWait('ivy', 'hi ivy');
  });
  after(async () => {
    await ann?.close();
    await world?.close();
    rmSync(video, { force: true });
  });

  it('a code that is not the safety number is refused; nothing is marked verified', async () => {
    await ivy.page.goto(`${world.server.url}/#/safety/ann`);
    await ivy.page.getByTestId('safety-digits').waitFor();
    await ivy.page.getByRole('button', { name: "Scan ann's code" }).click();
    await ivy.page
      .getByRole('alert')
      .filter({ hasText: /does not match/ })
      .waitFor();
    assert.equal(await ivy.page.getByTestId('verified-state').textContent(), 'ann is not verified.');
  });

  it("scanning the contact's safety-number QR code marks them verified", async () => {
    const theirs = await ann.safety('ivy');
    writeFileSync(video, qrVideo(toBase64Url(theirs.safetyNumber.qrPayload)));
    await ivy.page.reload();
    await ivy.page.getByTestId('safety-digits').waitFor();
    await ivy.page.getByRole('button', { name: "Scan ann's code" }).click();
    await ivy.page.getByTestId('verified-state').filter({ hasText: '✔ You have verified ann.' }).waitFor();
    await screenshot(ivy, 'qr-scan-verified');
    assert.deepEqual(ivy.errors, []);
  });
});
