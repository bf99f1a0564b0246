/**
 * CI smoke of the decoder fuzz targets (fuzz/, docs/reliability.md "Fuzzing"): each target runs
 * its committed seeds and fresh seeds, then a few thousand mutants; any finding (an exception that
 * is not the decoder's typed error, a non-canonical re-encoding, an output over 10× the input) fails with the input in hex. The long runs are
 * `npm run fuzz -- --all --runs 1000000`, which also checks the 100 ms bound per input (not timed
 * here: CI machines vary, and a timed pass/fail test would flake).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzz } from '../../../../fuzz/engine.ts';
import { closeFuzzResources, TARGETS } from '../../../../fuzz/targets.ts';

const corpus = new URL('../../../../fuzz/corpus/', import.meta.url).pathname;
const RUNS = 2_000;

function committed(name: string): Uint8Array[] {
  const dir = join(corpus, name);
  return existsSync(dir) ? readdirSync(dir).map((f) => new Uint8Array(readFileSync(join(dir, f)))) : [];
}

describe('decoder fuzz targets (smoke)', () => {
  after(() => closeFuzzResources());
  for (const [name, target] of Object.entries(TARGETS)) {
    it(`${name}: seeds and ${RUNS} mutants give a result or the typed error`, async () => {
      const seeds = [...committed(name), ...(await target.seeds())];
      assert.ok(committed(name).length > 0, `fuzz/corpus/${name} holds the committed seeds`);
      const result = await fuzz(target, seeds, RUNS, 1, Number.POSITIVE_INFINITY);
      const f = result.findings[0];
      assert.equal(f, undefined, f && `${f.kind} on ${Buffer.from(f.input).toString('hex')}: ${f.detail}`);
    });
  }

  it('structured inputs: arbitrary bytes and JSON values never escape a decoder untyped (fast-check)', async () => {
    const json = fc.json().map((s) => new TextEncoder().encode(s));
    for (const [name, target] of Object.entries(TARGETS)) {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 2048 }), json), async (input) => {
          try {
            const out = target.run(input);
            if (out instanceof Promise) await out;
          } catch (err) {
            assert.ok(target.typed(err), `${name}: ${String(err)}`);
          }
        }),
        { numRuns: 200 },
      );
    }
  });
});
