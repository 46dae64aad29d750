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

  it('keeps the core free of HTTP, storage implementations, doors and the CLI', () => {
    const banned = [/^fastify/, /^@fastify\//, /^pg$/, /^better-sqlite3$/, /^kysely$/, /^ioredis$/, /^commander$/, /^(api|storage|cli|app|web)\//];
    const offences = files
      .filter((f) => area(f) === 'core')
      .flatMap((f) => importsOf(f).filter((i) => banned.some((b) => b.test(i))).map((i) => `${relative(SRC, f)} imports ${i}`));
    expect(offences).toEqual([]);
  });

  it('lets a door import the core and shared door code, never storage, the app or another door', () => {
    const offences = files
      .filter((f) => area(f) === 'api')
      .flatMap((f) => {
        const door = relative(SRC, f).split('/')[1];
        return importsOf(f)
          .filter((i) => {
            if (/^(storage|cli|app|web)\//.test(i)) return true;
            const m = /^api\/([^/]+)\//.exec(i);
            return m !== null && m[1] !== door && m[1] !== 'shared' && !door.endsWith('.ts') && door !== 'shared';
          })
          .map((i) => `${relative(SRC, f)} imports ${i}`);
      });
    expect(offences).toEqual([]);
  });

  it('keeps CLI commands other than serve on HTTP only', () => {
    // The core's OCI client is itself an HTTP client (see the next rule), so the CLI may use it.
    const offences = files
      .filter((f) => area(f) === 'cli' && !/commands\/serve\.ts$/.test(f))
      .flatMap((f) => importsOf(f).filter((i) => /^(core|storage|api|app)\//.test(i) && !CLI_MAY_IMPORT.includes(i) && !/^core\/oci-client\//.test(i)).map((i) => `${relative(SRC, f)} imports ${i}`));
    expect(offences).toEqual([]);
  });

  it('keeps the core OCI client a plain HTTP client: node built-ins, core errors and itself only', () => {
    const offences = files
      .filter((f) => relative(SRC, f).startsWith('core/oci-client/'))
      .flatMap((f) => importsOf(f).filter((i) => !/^node:/.test(i) && !/^core\/(errors|oci-client\/.*)$/.test(i)).map((i) => `${relative(SRC, f)} imports ${i}`));
    expect(offences).toEqual([]);
  });

  it('keeps the dev model (the shipped model provider stand-in) on node built-ins and itself', () => {
    const offences = files
      .filter((f) => area(f) === 'dev-model')
      .flatMap((f) => importsOf(f).filter((i) => !/^node:/.test(i) && !/^dev-model\//.test(i)).map((i) => `${relative(SRC, f)} imports ${i}`));
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
