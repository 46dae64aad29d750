#!/usr/bin/env node
// Prints the import graph of src/, read with the TypeScript compiler API (no build needed).
//
//   node scripts/import-graph.mjs              rooms (core, storage, api/<door>, app, cli, adapters) and who imports whom
//   node scripts/import-graph.mjs --modules    every module → module edge under src/
//   node scripts/import-graph.mjs --dot        the room graph as Graphviz dot (| dot -Tsvg > graph.svg)
//
// Type-only imports (`import type`, erased from the built code) are marked `(types)`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const SRC = resolve(import.meta.dirname, '../src');
const mode = process.argv.includes('--modules') ? 'modules' : process.argv.includes('--dot') ? 'dot' : 'rooms';

const sourceFiles = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });

/** `{ spec, typeOnly }` for every import, export-from and dynamic import of a file. */
const importsOf = (file) => {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
  const found = [];
  const visit = (node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(node) ? node.importClause?.isTypeOnly === true : node.isTypeOnly;
      found.push({ spec: node.moduleSpecifier.text, typeOnly });
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteral(node.arguments[0])) {
      found.push({ spec: node.arguments[0].text, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
};

/** A module's path under src/ without extension, or the package name of a library. */
const target = (file, spec) => (spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '') : spec);
const isLocal = (spec) => spec.startsWith('.');
/** The room a path under src/ belongs to: api/<door>, or its first folder. */
const roomOf = (path) => {
  const [top, second] = path.split('/');
  return top === 'api' && second && !second.endsWith('.ts') ? `api/${second.replace(/\.(ts|js)$/, '')}` : top.replace(/\.(ts|js)$/, '');
};

const edges = new Map();
for (const file of sourceFiles(SRC)) {
  const from = relative(SRC, file).replace(/\.ts$/, '');
  for (const { spec, typeOnly } of importsOf(file)) {
    if (!isLocal(spec)) continue;
    const to = target(file, spec);
    const key = mode === 'modules' ? `${from} → ${to}` : `${roomOf(from)} → ${roomOf(to)}`;
    if (mode !== 'modules' && roomOf(from) === roomOf(to)) continue;
    const e = edges.get(key) ?? { count: 0, values: 0 };
    e.count += 1;
    if (!typeOnly) e.values += 1;
    edges.set(key, e);
  }
}

const sorted = [...edges.entries()].sort(([a], [b]) => a.localeCompare(b));
if (mode === 'dot') {
  console.log('digraph agentry {\n  rankdir=LR;\n  node [shape=box];');
  for (const [key, e] of sorted) {
    const [a, b] = key.split(' → ');
    console.log(`  "${a}" -> "${b}" [label="${e.count}"${e.values === 0 ? ', style=dashed' : ''}];`);
  }
  console.log('}');
} else {
  for (const [key, e] of sorted)
    console.log(mode === 'modules' ? `${key}${e.values === 0 ? '  (types)' : ''}` : `${key}  ${e.count} import${e.count === 1 ? '' : 's'}${e.values === 0 ? ' (types)' : ''}`);
}
