import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACCOUNT_NAME_PATTERN, accountNameSkeleton } from '@parley/protocol';
import fc from 'fast-check';

describe('accountNameSkeleton', () => {
  it('folds digits that look like letters: 0 as o, 1 and i as l', () => {
    assert.equal(accountNameSkeleton('a1ice'), accountNameSkeleton('alice'));
    assert.equal(accountNameSkeleton('aiice'), accountNameSkeleton('alice'));
    assert.equal(accountNameSkeleton('b0b'), accountNameSkeleton('bob'));
    assert.equal(accountNameSkeleton('alice'), 'allce');
  });

  it('folds letter pairs that look like one letter: rn as m, vv as w', () => {
    assert.equal(accountNameSkeleton('rnallory'), accountNameSkeleton('mallory'));
    assert.equal(accountNameSkeleton('vvalter'), accountNameSkeleton('walter'));
  });

  it('treats . _ - alike and ignores repeated, leading and trailing ones', () => {
    assert.equal(accountNameSkeleton('alice.'), accountNameSkeleton('alice'));
    assert.equal(accountNameSkeleton('_alice'), accountNameSkeleton('alice'));
    assert.equal(accountNameSkeleton('bob__smith'), accountNameSkeleton('bob.smith'));
    assert.equal(accountNameSkeleton('bob-smith'), accountNameSkeleton('bob_smith'));
    assert.equal(accountNameSkeleton('bob.-_smith'), 'bob.smlth');
  });

  it('keeps names that a reader tells apart distinct', () => {
    for (const [a, b] of [
      ['alice', 'alicia'],
      ['bob', 'rob'],
      ['bobsmith', 'bob.smith'],
      ['mallory', 'malory'],
      ['nn', 'm'],
      ['v', 'w'],
    ] as const) {
      assert.notEqual(accountNameSkeleton(a), accountNameSkeleton(b), `${a} vs ${b}`);
    }
  });

  it('frozen known answers (stored skeletons depend on them)', () => {
    assert.deepEqual(['a1ice', 'rnallory', 'alice.', 'vv1ll', 'x--0-1-i--', 'parley'].map(accountNameSkeleton), [
      'allce',
      'mallory',
      'allce',
      'wlll',
      'x.o.l.l',
      'parley',
    ]);
  });

  it('is idempotent and never longer than the name (property)', () => {
    const name = fc.stringMatching(ACCOUNT_NAME_PATTERN);
    fc.assert(
      fc.property(name, (n) => {
        const s = accountNameSkeleton(n);
        assert.equal(accountNameSkeleton(s), s);
        assert.ok(s.length <= n.length);
      }),
    );
  });
});
