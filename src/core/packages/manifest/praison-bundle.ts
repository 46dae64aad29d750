import { FieldChecker, isPlainObject } from './fields.js';
import type { ManifestResult } from './package-manifest.js';
import { parseMapping } from './parse-text.js';

/** The manifest at the root of a PraisonAI `.praison` recipe bundle (a gzip tarball). */
export const PRAISON_BUNDLE_MANIFEST = 'manifest.json';

const FILE = PRAISON_BUNDLE_MANIFEST;
const FIELDS = ['name', 'version', 'created_at', 'files', 'description', 'tags', 'author', 'license', 'homepage', 'repository', 'requires', 'metadata'] as const;

/** PraisonAI's recipe name rule (its registry refuses anything else). */
export const PRAISON_NAME_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?$/;
export const PRAISON_NAME_MAX = 128;
const SHA256_HEX = /^[a-f0-9]{64}$/;

/**
 * A `.praison` bundle's manifest.json: `name`, `version`, `created_at` and `files: [{path, checksum}]`
 * (checksum: the file's sha256 in hex), optionally `description`, `tags`, `author`, `license`, …
 * Unknown fields are errors, as for every other kind. The files themselves are checked against the
 * archive by `bundleFileProblems`.
 */
export const parsePraisonBundleManifest = (text: string): ManifestResult => {
  const { data, problem } = parseMapping(FILE, text, 'json');
  if (!data) return { problems: [problem!] };
  const c = new FieldChecker(FILE, data);
  c.unknownFields(FIELDS);
  const name = c.string('name', { required: true, max: PRAISON_NAME_MAX, pattern: PRAISON_NAME_PATTERN, patternHint: `must match ${PRAISON_NAME_PATTERN.source}` });
  const version = c.version();
  const createdAt = c.string('created_at', { required: true, max: 64 });
  if (createdAt !== undefined && Number.isNaN(Date.parse(createdAt))) c.problem(`field 'created_at' value '${createdAt}' is not a date and time`);
  const description = c.string('description', { max: 500 });
  const tags = c.stringList('tags', { max: 20, itemMax: 50 });
  c.string('author', { max: 100 });
  const license = c.string('license', { max: 100 });
  const homepage = c.string('homepage', { max: 500 });
  const repository = c.string('repository', { max: 500 });
  c.object('requires');
  c.object('metadata');
  const files = data.files;
  if (files === undefined || files === null) c.problem("missing required field 'files'");
  else if (!Array.isArray(files)) c.problem("field 'files' must be a list of {path, checksum}");
  else {
    const seen = new Set<string>();
    files.forEach((f: unknown, i) => {
      if (!isPlainObject(f) || typeof f.path !== 'string' || f.path.length === 0 || typeof f.checksum !== 'string') {
        c.problem(`files[${i}] must be {path, checksum} with string values`);
        return;
      }
      if (!SHA256_HEX.test(f.checksum.replace(/^sha256:/, ''))) c.problem(`files[${i}].checksum must be a sha256 in hex (64 characters 0-9a-f)`);
      const path = normalizeBundlePath(f.path);
      if (path.startsWith('/') || path.split('/').includes('..')) c.problem(`files[${i}].path '${f.path}' must stay inside the bundle`);
      if (seen.has(path)) c.problem(`files[${i}].path '${f.path}' is listed twice`);
      seen.add(path);
    });
  }
  if (c.problems.length > 0 || !name || !version) return { problems: c.problems };
  return {
    problems: [],
    manifest: {
      kind: 'recipe',
      file: FILE,
      name,
      scope: null,
      version,
      description: description ?? null,
      category: null,
      tags,
      license: license ?? null,
      repository: repository ?? null,
      homepage: homepage ?? null,
      readme: null,
      raw: data,
    },
  };
};

const normalizeBundlePath = (p: string): string => {
  let s = p.replace(/\\/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  return s;
};

/**
 * Every file the bundle's manifest lists must be in the archive with that sha256. `digests` maps each
 * regular file of the archive (normalized path) to its sha256 in hex. Answers one line per problem.
 */
export const bundleFileProblems = (raw: Record<string, unknown>, digests: ReadonlyMap<string, string>): string[] => {
  const problems: string[] = [];
  const files = Array.isArray(raw.files) ? raw.files : [];
  for (const f of files) {
    if (!isPlainObject(f) || typeof f.path !== 'string' || typeof f.checksum !== 'string') continue;
    const path = normalizeBundlePath(f.path);
    const actual = digests.get(path);
    const expected = f.checksum.replace(/^sha256:/, '').toLowerCase();
    if (actual === undefined) problems.push(`${FILE}: lists '${f.path}' but the bundle has no such file`);
    else if (actual !== expected) problems.push(`${FILE}: checksum mismatch for '${f.path}' (manifest says ${expected}, the file's sha256 is ${actual})`);
  }
  return problems.slice(0, 20);
};
