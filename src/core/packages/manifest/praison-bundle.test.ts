import { describe, expect, it } from 'vitest';
import { bundleFileProblems, parsePraisonBundleManifest } from './praison-bundle.js';

const HEX = 'a'.repeat(64);
const base = { name: 'my-agent', version: '1.0.0', created_at: '2024-01-15T10:30:00+00:00', files: [{ path: 'TEMPLATE.yaml', checksum: HEX }] };
const parse = (m: unknown) => parsePraisonBundleManifest(JSON.stringify(m));

describe('.praison manifest.json', () => {
  it('reads what praisonai recipe pack writes', () => {
    const r = parse({ ...base, description: 'A helpful AI agent', tags: ['agent', 'assistant'], author: 'praison' });
    expect(r.problems).toEqual([]);
    expect(r.manifest).toMatchObject({ kind: 'recipe', file: 'manifest.json', name: 'my-agent', version: '1.0.0', scope: null, description: 'A helpful AI agent', tags: ['agent', 'assistant'] });
  });

  it('names every missing required field', () => {
    expect(parse({}).problems).toEqual([
      "manifest.json: missing required field 'name'",
      "manifest.json: missing required field 'version'",
      "manifest.json: missing required field 'created_at'",
      "manifest.json: missing required field 'files'",
    ]);
  });

  it("applies PraisonAI's name rule (at most 128 characters) and strict semver", () => {
    for (const name of ['-lead', 'trail-', 'sp ace', 'a/b', 'ünï']) expect(parse({ ...base, name }).problems[0]).toMatch(/field 'name' value .* must match/);
    expect(parse({ ...base, name: 'a'.repeat(129) }).problems).toContain("manifest.json: field 'name' is longer than 128 characters");
    expect(parse({ ...base, name: 'A.b_c-1' }).problems).toEqual([]);
    expect(parse({ ...base, version: '1.0' }).problems).toEqual(["manifest.json: version '1.0' is not valid semver"]);
    expect(parse({ ...base, version: '1.0.0beta' }).problems).toEqual(["manifest.json: version '1.0.0beta' is not valid semver"]);
  });

  it('checks files, created_at, tags and unknown fields', () => {
    expect(parse({ ...base, files: 'x' }).problems).toEqual(["manifest.json: field 'files' must be a list of {path, checksum}"]);
    expect(parse({ ...base, files: [{ path: 'a' }] }).problems).toEqual(['manifest.json: files[0] must be {path, checksum} with string values']);
    expect(parse({ ...base, files: [{ path: 'a', checksum: 'abc' }] }).problems).toEqual(['manifest.json: files[0].checksum must be a sha256 in hex (64 characters 0-9a-f)']);
    expect(parse({ ...base, files: [{ path: '../x', checksum: HEX }] }).problems).toEqual(["manifest.json: files[0].path '../x' must stay inside the bundle"]);
    expect(
      parse({
        ...base,
        files: [
          { path: 'a', checksum: HEX },
          { path: './a', checksum: HEX },
        ],
      }).problems,
    ).toEqual(["manifest.json: files[1].path './a' is listed twice"]);
    expect(parse({ ...base, created_at: 'yesterday' }).problems).toEqual(["manifest.json: field 'created_at' value 'yesterday' is not a date and time"]);
    expect(parse({ ...base, tags: 'agent' }).problems).toEqual(["manifest.json: field 'tags' must be a list of strings"]);
    expect(parse({ ...base, signature: 'x' }).problems).toEqual(["manifest.json: unknown field 'signature'"]);
    expect(parsePraisonBundleManifest('{not json').problems[0]).toMatch(/^manifest\.json: not valid JSON/);
    expect(parsePraisonBundleManifest('[]').problems).toEqual(['manifest.json: must be a JSON object']);
  });

  it("checks every listed file against the archive's sha256s", () => {
    const raw = {
      ...base,
      files: [
        { path: 'a.txt', checksum: HEX },
        { path: './b/c.md', checksum: `sha256:${'B'.repeat(64)}` },
        { path: 'gone', checksum: HEX },
      ],
    };
    const digests = new Map([
      ['a.txt', HEX],
      ['b/c.md', 'b'.repeat(64)],
    ]);
    expect(bundleFileProblems(raw, digests)).toEqual(["manifest.json: lists 'gone' but the bundle has no such file"]);
    expect(
      bundleFileProblems(
        raw,
        new Map([
          ['a.txt', 'c'.repeat(64)],
          ['b/c.md', 'b'.repeat(64)],
          ['gone', HEX],
        ]),
      ),
    ).toEqual([`manifest.json: checksum mismatch for 'a.txt' (manifest says ${HEX}, the file's sha256 is ${'c'.repeat(64)})`]);
  });
});
