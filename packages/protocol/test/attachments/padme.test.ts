import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isProtocolError, padme } from '../../src/index.ts';

describe('Padmé padding', () => {
  it('matches the values of the PURBs paper (Nikitin et al. 2019, Table 2 style)', () => {
    const known: [number, number][] = [
      [0, 0],
      [1, 1],
      [2, 2],
      [9, 10],
      [100, 104],
      [1000, 1024],
      [1025, 1088],
      [1_000_000, 1_015_808],
      [2 ** 31 + 524_296, 2 ** 31 + 2 ** 26],
    ];
    for (const [length, padded] of known) assert.equal(padme(length), padded, `padme(${length})`);
  });

  it('never shrinks, costs at most 12 %, keeps at most ⌊log2 E⌋+1 significant bits (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 2 ** 44 }), (l) => {
        const p = padme(l);
        assert.ok(p >= l && p <= l * 1.12 + 1);
        const e = Math.floor(Math.log2(l));
        const unit = 2 ** (e - (Math.floor(Math.log2(e)) + 1));
        assert.equal(p % unit, 0);
        assert.equal(padme(p), p);
      }),
    );
  });

  it('rejects negative and fractional lengths', () => {
    for (const bad of [-1, 1.5, Number.NaN])
      assert.throws(
        () => padme(bad),
        (e) => isProtocolError(e, 'INVALID_ARGUMENT'),
      );
  });
});
