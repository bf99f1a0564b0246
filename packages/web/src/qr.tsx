/**
 * A QR code drawn as SVG rectangles (no canvas, no inline images, nothing the CSP must allow).
 */
import QRCode from 'qrcode';

export function Qr({ text, label, size = 200 }: { text: string; label: string; size?: number }) {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const n = qr.modules.size;
  const quiet = 4;
  const cells: preact.JSX.Element[] = [];
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      if (qr.modules.get(y, x)) cells.push(<rect key={`${x}.${y}`} x={x + quiet} y={y + quiet} width={1} height={1} />);
    }
  }
  return (
    <svg
      class="qr"
      role="img"
      aria-label={label}
      viewBox={`0 0 ${n + 2 * quiet} ${n + 2 * quiet}`}
      width={size}
      height={size}
      shape-rendering="crispEdges"
    >
      <rect width="100%" height="100%" fill="#fff" />
      <g fill="#000">{cells}</g>
    </svg>
  );
}
