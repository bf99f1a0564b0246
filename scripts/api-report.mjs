#!/usr/bin/env node
// The public API reports: for every entry point of the packages below, each export by name with
// its kind and declared type or signature, sorted, in packages/<pkg>/api/<entry>.api.md (STYLE.md:
// "a public surface you can review"). Without arguments it fails, printing a diff, when the code's
// API differs from a committed report (`npm test` runs it); `--update` rewrites the reports.
// Types come from the TypeScript compiler's checker, so an inferred return type or a member added
// through `extends` shows as well as one written out.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

const root = new URL('..', import.meta.url).pathname;
/** Package directory → the `exports` keys whose API is reported. */
const PACKAGES = {
  protocol: ['.', './groups', './node', './names', './kt'],
  client: ['.', './errors', './web'],
  server: ['.', './options'],
};

const update = process.argv.includes('--update');
const unknown = process.argv.slice(2).filter((a) => a !== '--update');
if (unknown.length > 0) {
  console.error(`usage: node scripts/api-report.mjs [--update]  (unknown: ${unknown.join(' ')})`);
  process.exit(2);
}

/** Each entry: its package name, export key, source file and report file. */
const entries = [];
for (const [dir, keys] of Object.entries(PACKAGES)) {
  const pkgDir = join(root, 'packages', dir);
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  for (const key of keys) {
    const target = manifest.exports?.[key];
    const source = typeof target === 'string' ? target : target?.source;
    if (typeof source !== 'string') throw new Error(`${manifest.name} exports no source file for "${key}"`);
    const name = key === '.' ? 'index' : key.slice(2);
    entries.push({
      pkg: manifest.name,
      key,
      file: join(pkgDir, source),
      report: join(pkgDir, 'api', `${name}.api.md`),
    });
  }
}

const config = ts.getParsedCommandLineOfConfigFile(
  join(root, 'tsconfig.json'),
  {},
  { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
);
const program = ts.createProgram({
  rootNames: entries.map((e) => e.file),
  options: { ...config.options, noEmit: true, customConditions: ['source'] },
});
const checker = program.getTypeChecker();
const FLAGS =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
  ts.TypeFormatFlags.WriteArrayAsGenericType;
const printer = ts.createPrinter({ removeComments: true, newLine: ts.NewLineKind.LineFeed });

/** One line of text for a node: printed without comments, whitespace collapsed. */
function print(node) {
  return printer
    .printNode(ts.EmitHint.Unspecified, node, node.getSourceFile())
    .replace(/\s+/g, ' ')
    .replace(/\( /g, '(')
    .replace(/ \)/g, ')');
}

const typeParams = (decl) => (decl.typeParameters ? `<${decl.typeParameters.map(print).join(', ')}>` : '');
const typeOf = (symbol, at) => checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, at), at, FLAGS);
const isReadonly = (symbol) =>
  (symbol.declarations ?? []).some((d) => (ts.getCombinedModifierFlags(d) & ts.ModifierFlags.Readonly) !== 0);

/** True when `prop` is declared inside `owner` itself (not inherited from a base it extends). */
const ownedBy = (prop, owners) => (prop.declarations ?? []).some((d) => owners.includes(d.parent));

/**
 * The members of an interface or class instance type, one per line: those declared in `owners`
 * (the type's own declarations); inherited ones show in the report of the base, named after `extends`.
 */
function members(type, at, indent, owners) {
  const lines = [];
  for (const sig of type.getConstructSignatures()) lines.push(`new ${checker.signatureToString(sig, at, FLAGS)};`);
  for (const sig of type.getCallSignatures()) lines.push(`${checker.signatureToString(sig, at, FLAGS)};`);
  for (const info of checker.getIndexInfosOfType(type)) {
    const ro = info.isReadonly ? 'readonly ' : '';
    lines.push(
      `${ro}[key: ${checker.typeToString(info.keyType, at, FLAGS)}]: ${checker.typeToString(info.type, at, FLAGS)};`,
    );
  }
  for (const prop of checker.getPropertiesOfType(type)) {
    if (!ownedBy(prop, owners)) continue;
    const decl = prop.valueDeclaration ?? prop.declarations?.[0];
    if (decl && (ts.getCombinedModifierFlags(decl) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0)
      continue;
    if (prop.name.startsWith('#') || prop.name.startsWith('__#')) continue;
    const optional = prop.flags & ts.SymbolFlags.Optional ? '?' : '';
    if (prop.flags & ts.SymbolFlags.Method) {
      const sigs = checker.getSignaturesOfType(checker.getTypeOfSymbolAtLocation(prop, at), ts.SignatureKind.Call);
      for (const sig of sigs) lines.push(`${prop.name}${optional}${checker.signatureToString(sig, at, FLAGS)};`);
    } else {
      lines.push(`${isReadonly(prop) ? 'readonly ' : ''}${prop.name}${optional}: ${typeOf(prop, at)};`);
    }
  }
  return lines.map((l) => `${indent}${l}`);
}

/** The report lines for one exported name. */
function describe(name, exported) {
  const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const decls = symbol.declarations ?? [];
  const out = [];
  const decl = decls[0];
  if (!decl) return [`unknown ${name};`];
  if (symbol.flags & ts.SymbolFlags.Function) {
    const type = checker.getTypeOfSymbolAtLocation(symbol, decl);
    for (const sig of type.getCallSignatures())
      out.push(`function ${name}${checker.signatureToString(sig, decl, FLAGS)};`);
  } else if (symbol.flags & ts.SymbolFlags.Class) {
    const staticType = checker.getTypeOfSymbolAtLocation(symbol, decl);
    const instance = checker.getDeclaredTypeOfSymbol(symbol);
    const heritage =
      ts.isClassDeclaration(decl) && decl.heritageClauses ? ` ${decl.heritageClauses.map(print).join(' ').trim()}` : '';
    out.push(`class ${name}${typeParams(decl)}${heritage} {`);
    for (const sig of staticType.getConstructSignatures()) {
      out.push(`  constructor${checker.signatureToString(sig, decl, FLAGS).replace(/: [^:]*$/, '')};`);
    }
    for (const prop of checker.getPropertiesOfType(staticType)) {
      if (prop.name === 'prototype' || !ownedBy(prop, [decl])) continue;
      out.push(`  static ${prop.name}: ${typeOf(prop, decl)};`);
    }
    out.push(...members(instance, decl, '  ', [decl]), '}');
  } else if (symbol.flags & ts.SymbolFlags.Enum) {
    out.push(
      `enum ${name} { ${checker
        .getExportsOfModule(symbol)
        .map((m) => m.name)
        .join(', ')} }`,
    );
  } else if (symbol.flags & ts.SymbolFlags.Variable) {
    const kind = ts.getCombinedNodeFlags(decl) & ts.NodeFlags.Const ? 'const' : 'let';
    out.push(`${kind} ${name}: ${typeOf(symbol, decl)};`);
  } else if (symbol.flags & ts.SymbolFlags.Interface) {
    const d = decls.find(ts.isInterfaceDeclaration) ?? decl;
    const heritage = d.heritageClauses ? ` ${d.heritageClauses.map(print).join(' ').trim()}` : '';
    const own = decls.filter(ts.isInterfaceDeclaration);
    out.push(
      `interface ${name}${typeParams(d)}${heritage} {`,
      ...members(checker.getDeclaredTypeOfSymbol(symbol), d, '  ', own),
      '}',
    );
  } else if (symbol.flags & ts.SymbolFlags.TypeAlias) {
    const d = decls.find(ts.isTypeAliasDeclaration) ?? decl;
    out.push(`type ${name}${typeParams(d)} = ${print(d.type)};`);
  } else if (symbol.flags & ts.SymbolFlags.Module) {
    out.push(`namespace ${name};`);
  } else {
    out.push(`unknown ${name};`);
  }
  // A value and a type under one name (`const X` and `type X`): report both.
  if (symbol.flags & (ts.SymbolFlags.Variable | ts.SymbolFlags.Function) && symbol.flags & ts.SymbolFlags.TypeAlias) {
    const d = decls.find(ts.isTypeAliasDeclaration);
    if (d) out.push(`type ${name}${typeParams(d)} = ${print(d.type)};`);
  }
  return out;
}

/** The full text of one entry's report. */
function reportOf(entry) {
  const source = program.getSourceFile(entry.file);
  if (!source) throw new Error(`cannot read ${entry.file}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const exports = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
  const sorted = [...exports].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const body = sorted.flatMap((s) => describe(s.name, s));
  const entryName = entry.key === '.' ? entry.pkg : `${entry.pkg}/${entry.key.slice(2)}`;
  return [
    `# API report: \`${entryName}\``,
    '',
    `Every export of \`${relative(root, entry.file)}\` (${sorted.length}), sorted by name, with the type the compiler`,
    'sees. Generated by `node scripts/api-report.mjs --update`; `npm test` fails when the code and this',
    'file differ, so every change of the public API shows in review.',
    '',
    '```ts',
    ...body,
    '```',
    '',
  ].join('\n');
}

/** A line diff of `before` → `after` (longest common subsequence), changed lines with context. */
function diff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  const n = a.length;
  const m = b.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const ops = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push([' ', a[i++], j++]);
    else if (j < m && (i === n || lcs[i][j + 1] >= lcs[i + 1][j])) ops.push(['+', b[j++]]);
    else ops.push(['-', a[i++]]);
  }
  const near = ops.map((_, k) => ops.slice(Math.max(0, k - 2), k + 3).some((o) => o[0] !== ' '));
  const lines = [];
  ops.forEach((o, k) => {
    if (near[k]) lines.push(`${o[0]} ${o[1]}`);
    else if (near[k - 1]) lines.push('  …');
  });
  return lines.join('\n');
}

let stale = 0;
for (const entry of entries) {
  const text = reportOf(entry);
  const name = relative(root, entry.report);
  const committed = existsSync(entry.report) ? readFileSync(entry.report, 'utf8') : '';
  if (committed === text) continue;
  if (update) {
    mkdirSync(dirname(entry.report), { recursive: true });
    writeFileSync(entry.report, text);
    console.log(`updated ${name}`);
  } else {
    stale++;
    console.error(`${name} differs from the code's API (- report, + code):\n${diff(committed, text)}\n`);
  }
}
if (stale > 0) {
  console.error(
    `${stale} API report(s) out of date. If the change is intended, run \`node scripts/api-report.mjs --update\` and commit the reports.`,
  );
  process.exit(1);
}
if (!update) console.log(`API reports: ${entries.length} entry points match the code`);
