/**
 * Multi-message scenario harness: messages delivered in random order with drops and
 * duplicates, and simultaneous initiation with loss and repeats. Seeds come from fast-check so
 * failures reproduce.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decrypt, encrypt, isProtocolError, processPreKeyBundle } from '../../src/index.ts';
import { createParty, type Party, str, text, wireBundleOf } from '../helpers/parties.ts';

interface Wire {
  from: Party;
  to: Party;
  body: Uint8Array;
  label: string;
}

describe('scenario harness', () => {
  it('delivers every message exactly once under reordering, drops and duplicates', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ fromAlice: fc.boolean(), burst: fc.integer({ min: 1, max: 6 }) }), {
          minLength: 2,
          maxLength: 6,
        }),
        fc.array(fc.nat(), { minLength: 60, maxLength: 60 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 60, maxLength: 60 }),
        async (turns, order, fate) => {
          const alice = await createParty('alice');
          const bob = await createParty('bob');
          await processPreKeyBundle(alice.ctx, bob.address, await wireBundleOf(bob), { now: 0 });
          // The first message establishes the session in order (the responder needs it to reply).
          const first = await encrypt(alice.ctx, bob.address, text('hello'));
          assert.equal(str(await decrypt(bob.ctx, alice.address, first.body)), 'hello');
          const sent: Wire[] = [];
          let n = 0;
          for (const t of turns) {
            const [from, to] = t.fromAlice ? [alice, bob] : [bob, alice];
            for (let i = 0; i < t.burst; i++) {
              const label = `m${n++}`;
              sent.push({ from, to, body: (await encrypt(from.ctx, to.address, text(label))).body, label });
            }
          }
          // Shuffle, drop ~10%, duplicate ~20%.
          const queue: Wire[] = [];
          sent.forEach((w, i) => {
            const f = fate[i % fate.length] as number;
            if (f === 0) return;
            queue.push(w);
            if (f >= 8) queue.push(w);
          });
          const keyed = queue.map((w, i) => ({ w, k: order[i % order.length] as number }));
          keyed.sort((a, b) => a.k - b.k);
          const delivered = new Set<string>();
          for (const { w } of keyed) {
            try {
              const got = str(await decrypt(w.to.ctx, w.from.address, w.body));
              assert.equal(got, w.label);
              assert.ok(!delivered.has(w.label), `${w.label} decrypted twice`);
              delivered.add(w.label);
            } catch (err) {
              assert.ok(isProtocolError(err, 'DUPLICATE_MESSAGE'), `unexpected ${String(err)}`);
              assert.ok(delivered.has(w.label), `${w.label} refused as duplicate before delivery`);
            }
          }
          const expected = new Set(queue.map((w) => w.label));
          assert.deepEqual(delivered, expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('converges on one session when both sides initiate at once, with loss and repeats', async () => {
    for (let run = 0; run < 6; run++) {
      const alice = await createParty('alice');
      const bob = await createParty('bob');
      await processPreKeyBundle(alice.ctx, bob.address, await wireBundleOf(bob), { now: 0 });
      await processPreKeyBundle(bob.ctx, alice.address, await wireBundleOf(alice), { now: 0 });
      const a1 = await encrypt(alice.ctx, bob.address, text('a1'));
      const a2 = await encrypt(alice.ctx, bob.address, text('a2'));
      const b1 = await encrypt(bob.ctx, alice.address, text('b1'));
      // a1 is lost; b1 arrives twice; a2 arrives.
      assert.equal(str(await decrypt(alice.ctx, bob.address, b1.body)), 'b1');
      await assert.rejects(decrypt(alice.ctx, bob.address, b1.body), (e: unknown) =>
        isProtocolError(e, 'DUPLICATE_MESSAGE'),
      );
      assert.equal(str(await decrypt(bob.ctx, alice.address, a2.body)), 'a2');
      // Both now hold the same current session (identified by its initiator base key)...
      const ra = await alice.sessionStore.loadSession(bob.address);
      const rb = await bob.sessionStore.loadSession(alice.address);
      assert.deepEqual(ra?.current?.baseKey, rb?.current?.baseKey);
      // ...and a conversation on it works both ways, with the lost message arriving late.
      for (let i = 0; i < 3; i++) {
        const x = await encrypt(alice.ctx, bob.address, text(`ax${i}`));
        assert.equal(str(await decrypt(bob.ctx, alice.address, x.body)), `ax${i}`);
        const y = await encrypt(bob.ctx, alice.address, text(`by${i}`));
        assert.equal(str(await decrypt(alice.ctx, bob.address, y.body)), `by${i}`);
      }
      assert.equal(str(await decrypt(bob.ctx, alice.address, a1.body)), 'a1');
    }
  });
});
