/**
 * QR codes for the terminal: coloured (black on white, so they scan on a dark terminal too) when
 * standard output is a terminal, plain Unicode blocks with no escape codes otherwise (a file or
 * a pipe gets no colour codes).
 */
import QRCode from 'qrcode';

/** `payload` as a QR code drawn in text, ending with a newline. */
export function qrText(payload: string): Promise<string> {
  return QRCode.toString(payload, process.stdout.isTTY ? { type: 'terminal', small: true } : { type: 'utf8' });
}
