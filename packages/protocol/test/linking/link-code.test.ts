import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLinkCode, decodeLinkCode, encodeLinkCode, toBase64Url } from '../../src/index.ts';
import { random } from '../helpers/parties.ts';

describe('link codes', () => {
  it('never print with a leading "-" (a command line would read an option), whatever the random bytes', () => {
    const worst = (n: number) => new Uint8Array(n).fill(0xfb);
    const code = createLinkCode(worst);
    assert.ok(!toBase64Url(encodeLinkCode(code)).startsWith('-'));
    assert.deepEqual(code.secret, worst(16), 'the secret is the random bytes, untouched');
    for (let i = 0; i < 500; i++) {
      const text = toBase64Url(encodeLinkCode(createLinkCode(random)));
      assert.ok(!/^[-_]/.test(text), text);
    }
  });

  it('round-trips through its 32 bytes', () => {
    const code = createLinkCode(random);
    assert.deepEqual(decodeLinkCode(encodeLinkCode(code)), code);
  });
});
