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

/** Every module specifier a file imports, relative ones resolved to paths under src/. */
const importsOf = (file: string): string[] => {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/gms), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
  return specs.map((s) => (s.startsWith('.') ? relative(SRC, resolve(dirname(file), s)).replace(/\.js$/, '') : s));
};

const area = (file: string): string => relative(SRC, file).split('/')[0];

/** Pure core rules (no I/O) the CLI runs locally so they live in one place: the Agent Skills validator. */
const CLI_MAY_IMPORT = ['core/packages/manifest/skill-md'];

describe('architecture', () => {
  const files = sourceFiles(SRC);

  it('keeps the core free of HTTP, storage implementations, doors, adapters and the CLI', () => {
    const banned = [/^fastify/, /^@fastify\//, /^pg$/, /^better-sqlite3$/, /^kysely$/, /^ioredis$/, /^commander$/, /^undici/, /^(api|storage|cli|app|web|adapters)\//];
    const offences = files
      .filter((f) => area(f) === 'core')
      .flatMap((f) => importsOf(f).filter((i) => banned.some((b) => b.test(i))).map((i) => `${relative(SRC, f)} imports ${i}`));
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

  it('keeps CLI commands other than serve on HTTP only', () => {
    // The OCI client adapter is itself an HTTP client (see the rule below), so the CLI may use it; no other adapter.
    const offences = files
      .filter((f) => area(f) === 'cli' && !/commands\/serve\.ts$/.test(f))
      .flatMap((f) => importsOf(f).filter((i) => /^(core|storage|api|app|adapters)\//.test(i) && !CLI_MAY_IMPORT.includes(i) && !/^adapters\/oci-client\//.test(i)).map((i) => `${relative(SRC, f)} imports ${i}`));
    expect(offences).toEqual([]);
  });

  it('keeps the OCI client adapter a plain HTTP client: node built-ins, core errors and itself only', () => {
    const offences = files
      .filter((f) => relative(SRC, f).startsWith('adapters/oci-client/'))
      .flatMap((f) => importsOf(f).filter((i) => !/^node:/.test(i) && !/^(core\/errors|adapters\/oci-client\/.*)$/.test(i)).map((i) => `${relative(SRC, f)} imports ${i}`));
    expect(offences).toEqual([]);
  });

  it('lets an adapter import the core (its ports) and other adapters, never a door, storage, the app or the CLI; the app wires them', () => {
    const offences = files
      .filter((f) => area(f) === 'adapters')
      .flatMap((f) => importsOf(f).filter((i) => /^(api|storage|cli|app|web)\//.test(i) || /^fastify|^@fastify\//.test(i)).map((i) => `${relative(SRC, f)} imports ${i}`));
    expect(offences).toEqual([]);
  });

  it('sends every outbound request of the server through the egress policy: only adapters/egress calls undici, no server code calls fetch itself', () => {
    // The CLI's own HTTP client and the OCI client adapter (which the server hands the policy's fetch) are the
    // exceptions; a file with a local function named fetch (a SQL helper) is not calling the network.
    const offences = files
      .filter((f) => !['cli'].includes(area(f)) && !relative(SRC, f).startsWith('adapters/oci-client/') && !relative(SRC, f).startsWith('adapters/egress/'))
      .flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        const bad = [...importsOf(f).filter((i) => /^(undici|node:https?|node:net|node:tls)$/.test(i)), ...(/(^|[^.\w])fetch\(/m.test(text) && !/\b(const|let|function)\s+fetch\b/.test(text) ? ['fetch('] : [])];
        return bad.map((b) => `${relative(SRC, f)} uses ${b}`);
      });
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
