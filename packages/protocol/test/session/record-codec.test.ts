import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeSessionRecord,
  decrypt,
  encodeSessionRecord,
  encrypt,
  isProtocolError,
  processPreKeyBundle,
} from '../../src/index.ts';
import { createParty, text, wireBundleOf } from '../helpers/parties.ts';

describe('session record codec', () => {
  it('round-trips records reached by random conversations (with skipped keys and archived states)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 12 }), async (steps) => {
        const alice = await createParty('alice');
        const bob = await createParty('bob');
        await processPreKeyBundle(alice.ctx, bob.address, await wireBundleOf(bob), { now: 0 });
        await decrypt(bob.ctx, alice.address, (await encrypt(alice.ctx, bob.address, text('hi'))).body);
        for (const step of steps) {
          if (step === 0) await encrypt(alice.ctx, bob.address, text('lost')); // leaves a gap → skipped keys
          if (step === 1)
            await decrypt(bob.ctx, alice.address, (await encrypt(alice.ctx, bob.address, text('a'))).body);
          if (step === 2)
            await decrypt(alice.ctx, bob.address, (await encrypt(bob.ctx, alice.address, text('b'))).body);
          if (step === 3) await processPreKeyBundle(alice.ctx, bob.address, await wireBundleOf(bob), { now: 0 }); // archives a state
        }
        for (const party of [alice, bob]) {
          for (const bytes of party.sessionStore.snapshot().values()) {
            assert.deepEqual(encodeSessionRecord(decodeSessionRecord(bytes)), bytes);
          }
        }
      }),
      { numRuns: 15 },
    );
  });

  it('rejects unknown versions, truncation and trailing bytes with typed errors', async () => {
    const alice = await createParty('alice');
    const bob = await createParty('bob');
    await processPreKeyBundle(alice.ctx, bob.address, await wireBundleOf(bob), { now: 0 });
    const [bytes] = [...alice.sessionStore.snapshot().values()];
    assert.ok(bytes);
    const v2 = bytes.slice();
    v2[0] = 2;
    assert.throws(
      () => decodeSessionRecord(v2),
      (e: unknown) => isProtocolError(e, 'UNKNOWN_VERSION'),
    );
    assert.throws(
      () => decodeSessionRecord(bytes.subarray(0, bytes.length - 1)),
      (e: unknown) => isProtocolError(e, 'MALFORMED_MESSAGE'),
    );
    assert.throws(
      () => decodeSessionRecord(new Uint8Array([...bytes, 0])),
      (e: unknown) => isProtocolError(e, 'MALFORMED_MESSAGE'),
    );
  });
});
