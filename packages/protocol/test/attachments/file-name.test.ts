import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FALLBACK_FILE_NAME, FILE_NAME_MAX_BYTES, sanitizeFileName } from '../../src/index.ts';

describe('sanitizeFileName', () => {
  it('neutralises path traversal, drive letters, NUL and other controls, leading dots', () => {
    const cases: [string, string][] = [
      ['../../x', 'x'],
      ['C:\\x', 'x'],
      ['C:x', 'C_x'],
      ['a\u0000b.txt', 'ab.txt'],
      ['.bashrc', 'bashrc'],
      ['...', FALLBACK_FILE_NAME],
      ['', FALLBACK_FILE_NAME],
      ['/', FALLBACK_FILE_NAME],
      ['photo.jpg', 'photo.jpg'],
      ['evil\u202egnp.exe', 'evilgnp.exe'],
      ['line\nbreak\r.txt', 'linebreak.txt'],
      ['  spaced name.pdf  ', 'spaced name.pdf'],
      ['trailing.', 'trailing'],
      ['a<b>c|d?.txt', 'a_b_c_d_.txt'],
    ];
    for (const [input, want] of cases) assert.equal(sanitizeFileName(input), want, JSON.stringify(input));
  });

  it('always yields one safe, bounded segment (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (name) => {
        const out = sanitizeFileName(name);
        assert.ok(out.length > 0);
        assert.ok(![...out].some((c) => c === '/' || c === '\\' || c.charCodeAt(0) < 0x20 || c === '\u007f'));
        assert.ok(!out.startsWith('.'));
        assert.ok(new TextEncoder().encode(out).length <= FILE_NAME_MAX_BYTES);
        assert.equal(sanitizeFileName(out), out);
      }),
    );
  });
});
