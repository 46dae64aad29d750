import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The import rules that keep "one core, many doors" standing, checked on every source file. */
const SRC = resolve(import.meta.dirname, '../src');

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });

/** A module specifier, relative ones resolved to a path under src/ (without `.js`). */
const resolved = (file: string, spec: string): string => (spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)).replace(/\.js$/, '') : spec);

/** Every module a file imports, and whether the import is type-only (`import type`/`export type`: erased, no code). */
const importStatementsOf = (file: string): { spec: string; typeOnly: boolean }[] => {
  const text = readFileSync(file, 'utf8');
  return [
    ...[...text.matchAll(/^\s*(?:import|export)\s+(type\s+)?[^;]*?from\s+['"]([^'"]+)['"]/gms)].map((m) => ({ spec: resolved(file, m[2]), typeOnly: m[1] !== undefined })),
    ...[...text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)].map((m) => ({ spec: resolved(file, m[1]), typeOnly: false })),
    ...[...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => ({ spec: resolved(file, m[1]), typeOnly: false })),
  ];
};

/** Every module specifier a file imports, relative ones resolved to paths under src/. */
const importsOf = (file: string): string[] => importStatementsOf(file).map((i) => i.spec);

/** The modules a file's code needs at run time (type-only imports left out). */
const valueImportsOf = (file: string): string[] =>
  importStatementsOf(file)
    .filter((i) => !i.typeOnly)
    .map((i) => i.spec);

const area = (file: string): string => relative(SRC, file).split('/')[0];

/**
 * Pure core modules (no I/O) the CLI uses so that each rule lives in one place; besides these the
 * CLI may import types only from the core (`import type`, erased from the built code).
 */
const CLI_MAY_IMPORT = [
  'core/packages/kinds', // the kinds of package and their manifest files
  'core/packages/names', // scope and package name rules
  'core/packages/manifest/skill-md', // the Agent Skills validator, SKILL.md front matter
  'core/packages/manifest/agent-yaml', // agent.yaml's name and description rules
  'core/packages/manifest/recipe-yaml', // recipe.yaml's description limit
  'core/packages/manifest/server-json/schema/2025-12-11.json', // the official server.json schema (data)
  'core/archives/bounded-gunzip', // the one bounded gzip/tar reader (pull's extraction goes through it too)
  'core/errors', // the error values that reader throws
  'core/clients/client-apps', // the MCP clients, their settings files and entries (`agentry mcp client`)
  'core/signatures/package-signature', // what a valid package signature is (`agentry pull --verify`, `sign`)
  'core/search/search-mode', // the search modes (`agentry search --mode`)
];
/**
 * Libraries those pure modules may use: parsers and checkers, no I/O. The archive reader inflates and
 * parses in memory: zlib, streams and events, and tar's Parser and Pack (never its file-system side).
 */
const PURE_LIBRARIES = [
  'yaml',
  'semver',
  'ajv',
  'ajv-formats',
  'tar',
  'node:zlib',
  'node:stream',
  'node:events',
  // Signatures: hashing and signature checks in memory (Sigstore's verifier and bundle parser).
  'node:crypto',
  '@sigstore/bundle',
  '@sigstore/verify',
];

describe('architecture', () => {
  const files = sourceFiles(SRC);

  it('keeps the core free of HTTP, storage implementations, doors, adapters and the CLI', () => {
    const banned = [/^fastify/, /^@fastify\//, /^pg$/, /^better-sqlite3$/, /^kysely$/, /^ioredis$/, /^commander$/, /^undici/, /^(api|storage|cli|app|web|adapters)\//];
    const offences = files
      .filter((f) => area(f) === 'core')
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => banned.some((b) => b.test(i)))
          .map((i) => `${relative(SRC, f)} imports ${i}`),
      );
    expect(offences).toEqual([]);
  });

  it('keeps disk, process and network I/O out of the core: adapters do it behind the interfaces the core defines', () => {
    const io = /^node:(fs|fs\/promises|child_process|worker_threads|cluster|os|net|dgram|dns|dns\/promises|http|https|http2|tls|readline|repl|inspector)$/;
    const offences = files
      .filter((f) => area(f) === 'core')
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => io.test(i))
          .map((i) => `${relative(SRC, f)} imports ${i}`),
      );
    expect(offences).toEqual([]);
  });

  it('lets a door import the core and shared door code, never storage, adapters, the app or another door', () => {
    const offences = files
      .filter((f) => area(f) === 'api')
      .flatMap((f) => {
        const door = relative(SRC, f).split('/')[1];
        return importsOf(f)
          .filter((i) => {
            if (/^(storage|adapters|cli|app|web)\//.test(i)) return true;
            const m = /^api\/([^/]+)\//.exec(i);
            return m !== null && m[1] !== door && m[1] !== 'shared' && !door.endsWith('.ts') && door !== 'shared';
          })
          .map((i) => `${relative(SRC, f)} imports ${i}`);
      });
    expect(offences).toEqual([]);
  });

  it('never lets a door read the blob store: blob bytes come through BlobAccess, i.e. through what owns them', () => {
    const rules: Array<[RegExp, string]> = [
      [/\bBlobStore\b/, 'names the BlobStore'],
      [/\bregistry\.blobs\b/, 'uses registry.blobs'],
      [/\{[^}]*\bblobs\b[^}]*\}\s*=\s*registry\b/, 'takes blobs out of the registry'],
      [/\bblobs\s*\.\s*(open|read|stat|list|put|delete)\s*\(/, 'calls the blob store'],
    ];
    const offences = files
      .filter((f) => area(f) === 'api')
      .flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        const banned = importsOf(f)
          .filter((i) => /^core\/blobs\//.test(i) && i !== 'core/blobs/blob-access')
          .map((i) => `imports ${i}`);
        return [...banned, ...rules.filter(([re]) => re.test(text)).map(([, what]) => what)].map((what) => `${relative(SRC, f)} ${what}`);
      });
    expect(offences).toEqual([]);
  });

  it('keeps CLI commands other than serve on HTTP only: types and named pure modules from the core', () => {
    // The OCI client adapter is itself an HTTP client (see the rule below), so the CLI may use it; and the client
    // settings editor, which edits this machine's MCP client files (no network; its own rule below). No other adapter.
    const offences = files
      .filter((f) => area(f) === 'cli' && !/commands\/serve\.ts$/.test(f))
      .flatMap((f) =>
        valueImportsOf(f)
          .filter((i) => /^(core|storage|api|app|adapters)\//.test(i) && !CLI_MAY_IMPORT.includes(i) && !/^adapters\/(oci-client|client-config)\//.test(i))
          .map((i) => `${relative(SRC, f)} imports ${i}`),
      );
    expect(offences).toEqual([]);
  });

  it('keeps the core modules the CLI may import pure: core only, parsing libraries, no node: I/O', () => {
    const seen = new Set<string>();
    const offences: string[] = [];
    const visit = (mod: string): void => {
      if (seen.has(mod) || mod.endsWith('.json')) return;
      seen.add(mod);
      const file = join(SRC, `${mod}.ts`);
      for (const i of valueImportsOf(file)) {
        if (/^core\//.test(i)) visit(i);
        else if (!PURE_LIBRARIES.includes(i)) offences.push(`${mod} (which the CLI imports) imports ${i}`);
      }
    };
    for (const mod of CLI_MAY_IMPORT) visit(mod);
    expect(offences).toEqual([]);
    expect(seen.size).toBeGreaterThanOrEqual(CLI_MAY_IMPORT.length - 1);
  });

  it('keeps the OCI client adapter a plain HTTP client: node built-ins, core errors, the core flush-behind rule and itself only', () => {
    const offences = files
      .filter((f) => relative(SRC, f).startsWith('adapters/oci-client/'))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => !/^node:/.test(i) && !/^(core\/errors|core\/blobs\/flush-behind|adapters\/oci-client\/.*)$/.test(i))
          .map((i) => `${relative(SRC, f)} imports ${i}`),
      );
    expect(offences).toEqual([]);
  });

  it('keeps the client settings editor (which the CLI uses) to files: node built-ins, its parsers, core errors and client types', () => {
    const allowed = /^(node:(fs|fs\/promises|path|crypto)|jsonc-parser|yaml|smol-toml|proper-lockfile|core\/errors|core\/clients\/client-config-files|adapters\/client-config\/.*)$/;
    const offences = files
      .filter((f) => relative(SRC, f).startsWith('adapters/client-config/'))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => !allowed.test(i))
          .map((i) => `${relative(SRC, f)} imports ${i}`),
      );
    expect(offences).toEqual([]);
  });

  it('lets an adapter import the core (its ports) and other adapters, never a door, storage, the app or the CLI; the app wires them', () => {
    const offences = files
      .filter((f) => area(f) === 'adapters')
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => /^(api|storage|cli|app|web)\//.test(i) || /^fastify|^@fastify\//.test(i))
          .map((i) => `${relative(SRC, f)} imports ${i}`),
      );
    expect(offences).toEqual([]);
  });

  it('sends every outbound request of the server through the egress policy: only adapters/egress calls undici, no server code calls fetch itself', () => {
    // The CLI's own HTTP client and the OCI client adapter (which the server hands the policy's fetch) are the
    // exceptions; a file with a local function named fetch (a SQL helper) is not calling the network. The dev
    // model is a separate program that serves HTTP (node:http, node:net) and calls nothing: it may listen, not fetch.
    const offences = files
      .filter((f) => !['cli'].includes(area(f)) && !relative(SRC, f).startsWith('adapters/oci-client/') && !relative(SRC, f).startsWith('adapters/egress/'))
      .flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        const network = area(f) === 'dev-model' ? /^(undici|node:https|node:tls)$/ : /^(undici|node:https?|node:net|node:tls)$/;
        const bad = [...importsOf(f).filter((i) => network.test(i)), ...(/(^|[^.\w])fetch\(/m.test(text) && !/\b(const|let|function)\s+fetch\b/.test(text) ? ['fetch('] : [])];
        return bad.map((b) => `${relative(SRC, f)} uses ${b}`);
      });
    expect(offences).toEqual([]);
  });

  it('keeps the dev model (the shipped model provider stand-in) on node built-ins and itself', () => {
    const offences = files
      .filter((f) => area(f) === 'dev-model')
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => !/^node:/.test(i) && !/^dev-model\//.test(i))
          .map((i) => `${relative(SRC, f)} imports ${i}`),
      );
    expect(offences).toEqual([]);
  });

  it('has no `any` in the core', () => {
    const offences = files
      .filter((f) => area(f) === 'core')
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => ({ line, n: i + 1 }))
          .filter(({ line }) => /(:\s*any\b|\bas any\b|<any>|any\[\])/.test(line))
          .map(({ n }) => `${relative(SRC, f)}:${n}`),
      );
    expect(offences).toEqual([]);
  });
});
