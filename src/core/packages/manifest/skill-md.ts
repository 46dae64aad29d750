import { FieldChecker, isPlainObject, isStrictSemver } from './fields.js';
import type { ManifestResult } from './package-manifest.js';
import { parseMapping } from './parse-text.js';

const FILE = 'SKILL.md';
const FIELDS = ['name', 'description', 'license', 'compatibility', 'metadata', 'allowed-tools'] as const;
const FRONT_MATTER = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)([\s\S]*)$/;

/** An Agent Skills SKILL.md: YAML front matter (name, description, …) then Markdown instructions. */
export const parseSkillManifest = (text: string): ManifestResult => {
  const m = FRONT_MATTER.exec(text);
  if (!m) return { problems: [`${FILE}: must start with YAML front matter between '---' lines`] };
  const { data, problem } = parseMapping(FILE, m[1], 'yaml');
  if (!data) return { problems: [problem!] };
  const c = new FieldChecker(FILE, data);
  c.unknownFields(FIELDS);
  const name = c.string('name', {
    required: true,
    max: 64,
    pattern: /^[a-z0-9]+(?:-[a-z0-9]+)*$/,
    patternHint: 'must be lower-case letters, digits and single hyphens, not starting or ending with a hyphen',
  });
  const description = c.string('description', { required: true, max: 1024 });
  const license = c.string('license', { max: 100 });
  c.string('compatibility', { max: 500 });
  c.string('allowed-tools', { max: 1000 });
  const metadata = c.object('metadata');
  for (const [key, value] of Object.entries(metadata ?? {})) {
    if (typeof value !== 'string') c.problem(`metadata.${key} must be a string`);
  }
  const version = typeof metadata?.version === 'string' ? metadata.version : null;
  if (version !== null && !isStrictSemver(version)) c.problem(`version '${version}' is not valid semver`);
  const tags = typeof metadata?.tags === 'string' ? metadata.tags.split(/[,\s]+/).filter(Boolean).slice(0, 10) : [];
  if (c.problems.length > 0 || !name) return { problems: c.problems };
  const body = m[2].trim();
  return {
    problems: [],
    manifest: {
      kind: 'skill',
      file: FILE,
      name,
      scope: null,
      version,
      description: description ?? null,
      category: typeof metadata?.category === 'string' ? metadata.category : null,
      tags,
      license: license ?? null,
      repository: typeof metadata?.repository === 'string' ? metadata.repository : null,
      homepage: typeof metadata?.homepage === 'string' ? metadata.homepage : null,
      readme: body.length > 0 ? body : null,
      raw: isPlainObject(data) ? data : {},
    },
  };
};
