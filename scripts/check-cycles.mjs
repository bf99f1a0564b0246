#!/usr/bin/env node
// Fails when relative imports under packages/*/src form a cycle, and when a package imports
// another package's internals instead of an entry its package.json `exports` declares
// (STYLE.md §7: one way in; `@parley/client/web` is the SDK's way in for browsers).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const graph = new Map();
const problems = [];

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) walk(full, out);
    else if (/\.tsx?$/.test(name)) out.push(full);
  }
  return out;
}

const entries = new Set();
for (const pkg of readdirSync(join(root, 'packages'))) {
  const manifest = join(root, 'packages', pkg, 'package.json');
  if (!existsSync(manifest)) continue;
  const { name, exports } = JSON.parse(readFileSync(manifest, 'utf8'));
  for (const key of Object.keys(typeof exports === 'object' && exports !== null ? exports : {})) {
    if (key.startsWith('./')) entries.add(`${name}/${key.slice(2)}`);
  }
}

const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src');
  if (!existsSync(src)) continue;
  for (const file of walk(src, [])) {
    const text = readFileSync(file, 'utf8');
    const deps = [];
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2];
      if (!spec) continue;
      if (spec.startsWith('.')) deps.push(resolve(dirname(file), spec));
      else if (/^@parley\/[^/]+\/.+/.test(spec) && !entries.has(spec)) {
        problems.push(`${relative(root, file)} imports ${spec}: import the package root instead`);
      }
    }
    graph.set(file, deps);
  }
}

const state = new Map();
const stack = [];
function visit(node) {
  state.set(node, 1);
  stack.push(node);
  for (const dep of graph.get(node) ?? []) {
    if (!graph.has(dep)) continue;
    if (state.get(dep) === 1) {
      const cycle = stack
        .slice(stack.indexOf(dep))
        .concat(dep)
        .map((f) => relative(root, f));
      problems.push(`import cycle: ${cycle.join(' -> ')}`);
    } else if (!state.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(node, 2);
}
for (const node of graph.keys()) if (!state.has(node)) visit(node);

if (problems.length > 0) {
  for (const p of problems) console.error(p);
  process.exit(1);
}
console.log(`import graph: ${graph.size} files, no cycles`);
