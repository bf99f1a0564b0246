/**
 * Scanning a QR code with the camera: getUserMedia, each frame drawn to a canvas and read by
 * jsQR (a maintained pure-JS decoder, Apache-2.0). The frames never leave the page; the camera
 * is released as soon as a code is read, the person cancels, or the component goes away.
 */
import jsQRModule, { type Options, type QRCode } from 'jsqr';
import { useEffect, useRef, useState } from 'preact/hooks';

type Decode = (data: Uint8ClampedArray, width: number, height: number, options?: Options) => QRCode | null;
/** jsQR's function: its CommonJS build's `default` (TypeScript's view), or the import itself (the bundler's). */
const jsQR = ((jsQRModule as unknown as { default?: Decode }).default ?? jsQRModule) as unknown as Decode;

/** A "Scan with camera" button that opens the camera and calls `onCode` with the first code read. */
export function QrScanner({ label, onCode }: { label: string; onCode: (text: string) => void }) {
  const [open, setOpen] = useState(false);
  const [problem, setProblem] = useState<string | undefined>();
  const video = useRef<HTMLVideoElement>(null);

  useEffect(() => {
    if (!open) return;
    let stream: MediaStream | undefined;
    let timer: ReturnType<typeof setInterval> | undefined;
    let stopped = false;
    const canvas = document.createElement('canvas');
    const stop = () => {
      stopped = true;
      if (timer !== undefined) clearInterval(timer);
      for (const t of stream?.getTracks() ?? []) t.stop();
    };
    void (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
      } catch (err) {
        setProblem(
          err instanceof DOMException && err.name === 'NotAllowedError'
            ? 'The camera was not allowed. Allow it in the browser, or compare the digits instead.'
            : 'No camera could be opened.',
        );
        setOpen(false);
        return;
      }
      if (stopped) return stop();
      const v = video.current;
      if (v === null) return stop();
      v.srcObject = stream;
      await v.play().catch(() => {});
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      timer = setInterval(() => {
        if (ctx === null || v.videoWidth === 0) return;
        canvas.width = v.videoWidth;
        canvas.height = v.videoHeight;
        ctx.drawImage(v, 0, 0);
        const image = ctx.getImageData(0, 0, canvas.width, canvas.height);
        const code = jsQR(image.data, image.width, image.height, { inversionAttempts: 'attemptBoth' });
        if (code !== null && code.data !== '') {
          stop();
          setOpen(false);
          onCode(code.data);
        }
      }, 150);
    })();
    return stop;
  }, [open, onCode]);

  return (
    <div class="qr-scanner">
      {open ? (
        <>
          <video ref={video} muted playsInline aria-label="Camera view" data-testid="camera" />
          <button type="button" onClick={() => setOpen(false)}>
            Stop scanning
          </button>
        </>
      ) : (
        <button
          type="button"
          onClick={() => {
            setProblem(undefined);
            setOpen(true);
          }}
        >
          {label}
        </button>
      )}
      {problem && (
        <p class="error" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
