/**
 * The lines `parley receive` and `parley chat` print for the SDK's background events
 * (src/commands/print.ts): a drained key stock and a failed background task each get one line
 * that says what happened, with nothing of the server's text but code characters.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatWarning } from '../src/commands/print.ts';

describe('warning lines for background events', () => {
  it('stock-drained says which stock is being drained and that it is refilled', () => {
    assert.equal(
      formatWarning({ type: 'stock-drained', stock: 'prekeys' }),
      "warning: this device's one-time prekeys are being fetched faster than the server allows (someone may be draining them); refilling them.",
    );
    assert.match(formatWarning({ type: 'stock-drained', stock: 'key-packages' }) ?? '', /group KeyPackages/);
  });

  it('warning says what was skipped and names the cause by its code', () => {
    assert.equal(
      formatWarning({ type: 'warning', code: 'OUTBOX_FAILED', cause: 'RATE_LIMITED' }),
      'warning: sending queued messages failed; they stay queued for the next try (RATE_LIMITED)',
    );
  });

  it('a cause carrying terminal escapes or line breaks prints as one plain line', () => {
    const line = formatWarning({ type: 'warning', code: 'PREKEY_REFILL_FAILED', cause: 'X\u001b[2J\nfake: hi' }) ?? '';
    assert.ok(
      [...line].every((ch) => ch >= ' ' && ch !== '\u007f'),
      'no control characters',
    );
    assert.match(line, /\(X\?\?2J\?fake\?\?hi\)$/);
  });
});
