/**
 * Writes `content.json`, the client's known-answer vectors, from the fixed inputs in
 * `content.vectors.ts`. Run it by hand, and only when the content encoding changes on purpose
 * (docs/protocol.md §15), from the repository root:
 *
 *   node --import tsx packages/client/test/vectors/generate.ts
 *
 * then read the diff of the JSON: every changed value is content that older clients will read
 * differently. The tests never run this; they compare with the committed file.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { about, build, makeInputs } from './content.vectors.ts';

const inputs = makeInputs();
const file = new URL('./content.json', import.meta.url);
writeFileSync(file, `${JSON.stringify({ about, inputs, expected: build(inputs) }, null, 2)}\n`);
const format = spawnSync('npx', ['biome', 'format', '--write', file.pathname], { stdio: 'inherit' });
if (format.status !== 0) throw new Error('biome format failed');
console.log(`wrote ${file.pathname}`);
