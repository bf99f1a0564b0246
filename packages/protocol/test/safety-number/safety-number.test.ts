import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareSafetyNumberQr,
  computeSafetyNumber,
  generateAccountIdentity,
  isProtocolError,
} from '../../src/index.ts';
import { provider, random } from '../helpers/parties.ts';

describe('safety numbers', () => {
  it('are the same 60 digits on both sides, in 12 groups of 5', async () => {
    const a = await generateAccountIdentity(provider, random);
    const b = await generateAccountIdentity(provider, random);
    const mine = await computeSafetyNumber(provider, {
      ourName: 'alice',
      ourAccountKey: a.publicKey,
      theirName: 'bob',
      theirAccountKey: b.publicKey,
    });
    const theirs = await computeSafetyNumber(provider, {
      ourName: 'bob',
      ourAccountKey: b.publicKey,
      theirName: 'alice',
      theirAccountKey: a.publicKey,
    });
    assert.match(mine.digits, /^\d{60}$/);
    assert.equal(mine.groups.length, 12);
    assert.ok(mine.groups.every((g) => /^\d{5}$/.test(g)));
    assert.equal(mine.digits, theirs.digits);
    assert.equal(compareSafetyNumberQr(mine, theirs.qrPayload), true);
  });

  it('change when either key or name changes', async () => {
    const a = await generateAccountIdentity(provider, random);
    const b = await generateAccountIdentity(provider, random);
    const b2 = await generateAccountIdentity(provider, random);
    const base = await computeSafetyNumber(provider, {
      ourName: 'alice',
      ourAccountKey: a.publicKey,
      theirName: 'bob',
      theirAccountKey: b.publicKey,
    });
    const keyChanged = await computeSafetyNumber(provider, {
      ourName: 'alice',
      ourAccountKey: a.publicKey,
      theirName: 'bob',
      theirAccountKey: b2.publicKey,
    });
    const nameChanged = await computeSafetyNumber(provider, {
      ourName: 'alice',
      ourAccountKey: a.publicKey,
      theirName: 'bobby',
      theirAccountKey: b.publicKey,
    });
    assert.notEqual(base.digits, keyChanged.digits);
    assert.notEqual(base.digits, nameChanged.digits);
    assert.equal(compareSafetyNumberQr(base, keyChanged.qrPayload), false);
    assert.throws(
      () => compareSafetyNumberQr(base, new Uint8Array(64)),
      (e: unknown) => isProtocolError(e, 'MALFORMED_MESSAGE'),
    );
    const v2 = base.qrPayload.slice();
    v2[0] = 2;
    assert.throws(
      () => compareSafetyNumberQr(base, v2),
      (e: unknown) => isProtocolError(e, 'UNKNOWN_VERSION'),
    );
  });
});
