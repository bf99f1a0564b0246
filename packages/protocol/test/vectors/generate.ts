/**
 * Writes the known-answer vector files `test/vectors/<area>.json` from each area's fixed inputs.
 * Run it by hand, and only when a stored or wire format or a derivation changes on purpose
 * (docs/protocol.md §15), from the repository root:
 *
 *   node --import tsx packages/protocol/test/vectors/generate.ts            # every area
 *   node --import tsx packages/protocol/test/vectors/generate.ts session    # named areas
 *
 * then read the diff of the JSON files: each changed value is a format or a derivation that
 * changed, and records or messages written before it will no longer read the same. The tests
 * never run this: they rebuild the values and compare them with the committed files.
 *
 * Each area is built under every provider of `rebuildProviders`; a file is written only when
 * all agree, so a provider bug cannot be frozen as the answer. Biome then formats the files.
 */
import { spawnSync } from 'node:child_process';
import type { CryptoProvider } from '../../src/index.ts';
import * as attachments from './attachments.vectors.ts';
import * as groups from './groups.vectors.ts';
import * as keys from './keys.vectors.ts';
import { rebuildProviders, writeVectors } from './kit.ts';
import * as linking from './linking.vectors.ts';
import * as pqxdh from './pqxdh.vectors.ts';
import * as ratchet from './ratchet.vectors.ts';
import * as relay from './relay.vectors.ts';
import * as safetyNumber from './safety-number.vectors.ts';
import * as session from './session.vectors.ts';
import * as wire from './wire.vectors.ts';

/** What each `<area>.vectors.ts` module exports. */
interface Area<I> {
  readonly about: string;
  makeInputs(): I;
  build(provider: CryptoProvider, inputs: I): Promise<Record<string, string>>;
}

const wanted = process.argv.slice(2);
const known = [
  'keys',
  'safety-number',
  'pqxdh',
  'ratchet',
  'session',
  'wire',
  'relay',
  'linking',
  'groups',
  'attachments',
];
for (const name of wanted) {
  if (!known.includes(name)) throw new Error(`unknown area ${name}; the areas are ${known.join(', ')}`);
}
const written: string[] = [];

async function generate<I>(name: string, area: Area<I>): Promise<void> {
  if (wanted.length > 0 && !wanted.includes(name)) return;
  const inputs = area.makeInputs();
  const built = await Promise.all(rebuildProviders.map((p) => area.build(p.provider, inputs)));
  const [first] = built;
  if (first === undefined) throw new Error('no provider');
  for (const [i, other] of built.entries()) {
    if (JSON.stringify(other) !== JSON.stringify(first)) {
      const [a, b] = [rebuildProviders[0]?.label, rebuildProviders[i]?.label];
      throw new Error(`${name}: ${b} disagrees with ${a}; nothing written`);
    }
  }
  written.push(writeVectors(name, { about: area.about, inputs, expected: first }));
  console.log(`wrote ${name}.json (${Object.keys(first).length} values)`);
}

await generate('keys', keys);
await generate('safety-number', safetyNumber);
await generate('pqxdh', pqxdh);
await generate('ratchet', ratchet);
await generate('session', session);
await generate('wire', wire);
await generate('relay', relay);
await generate('linking', linking);
await generate('groups', groups);
await generate('attachments', attachments);

if (written.length > 0) {
  const format = spawnSync('npx', ['biome', 'format', '--write', ...written], { stdio: 'inherit' });
  if (format.status !== 0) throw new Error('biome format failed');
}
