import { FieldChecker, isPlainObject, isStrictSemver } from './fields.js';
import type { ManifestResult, PackageManifest } from './package-manifest.js';
import { parseMapping } from './parse-text.js';

/**
 * Agent Skills (agentskills.io/specification), the one place its rules live. A skill is a folder
 * holding `SKILL.md` — YAML front matter, then Markdown instructions — and optionally `scripts/`,
 * `references/` and `assets/`. The same checks run on a tarball being published, on an archive or
 * folder sent to a validate endpoint, and in `agentry skill validate` on a local folder.
 */
export const SKILL_FILE = 'SKILL.md';
/** 1–64 of a-z, 0-9 and single hyphens, not leading or trailing. */
export const SKILL_NAME_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const SKILL_NAME_MAX = 64;
export const SKILL_DESCRIPTION_MAX = 1024;
export const SKILL_COMPATIBILITY_MAX = 500;
/** The optional folders the specification names. */
export const SKILL_FOLDERS = ['scripts', 'references', 'assets'] as const;
/** The specification recommends keeping SKILL.md under this many lines (a warning, not an error). */
export const SKILL_MD_RECOMMENDED_LINES = 500;

const FIELDS = ['name', 'description', 'license', 'compatibility', 'metadata', 'allowed-tools'] as const;
const FRONT_MATTER = /^\uFEFF?---\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)([\s\S]*)$/;
/** The problem of a SKILL.md without front matter. */
export const NO_FRONT_MATTER = `${SKILL_FILE}: must start with YAML front matter between '---' lines`;

/** SKILL.md's YAML front matter (between the `---` lines) and the Markdown after it; undefined when it has none. */
export const splitFrontMatter = (text: string): { yaml: string; body: string } | undefined => {
  const m = FRONT_MATTER.exec(text);
  return m ? { yaml: m[1], body: m[2] } : undefined;
};

/** SKILL.md, checked and read. */
export interface SkillDocument {
  name: string;
  description: string;
  license: string | null;
  compatibility: string | null;
  /** `metadata`, a string map. */
  metadata: Record<string, string>;
  /** `allowed-tools`, split on whitespace. */
  allowedTools: string[];
  /** `metadata.version`, when the front matter carries one. */
  version: string | null;
  /** The Markdown after the front matter, trimmed. */
  body: string;
  /** The front matter as written. */
  raw: Record<string, unknown>;
}

export interface SkillMdResult {
  document?: SkillDocument;
  errors: string[];
  warnings: string[];
}

/** Checks the text of SKILL.md against the specification; every violation is reported, not just the first. */
export const checkSkillMd = (text: string): SkillMdResult => {
  const parts = splitFrontMatter(text);
  if (!parts) return { errors: [NO_FRONT_MATTER], warnings: [] };
  const { data, problem } = parseMapping(SKILL_FILE, parts.yaml, 'yaml');
  if (!data) return { errors: [problem!], warnings: [] };
  const c = new FieldChecker(SKILL_FILE, data);
  c.unknownFields(FIELDS);
  const name = c.string('name', {
    required: true,
    max: SKILL_NAME_MAX,
    pattern: SKILL_NAME_PATTERN,
    patternHint: 'must be lower-case letters (a-z), digits and single hyphens, not starting or ending with a hyphen',
  });
  const description = c.string('description', { required: true, max: SKILL_DESCRIPTION_MAX });
  if (description !== undefined && description.trim() === '') c.problem("field 'description' must not be blank");
  const license = c.string('license');
  const compatibility = c.string('compatibility', { max: SKILL_COMPATIBILITY_MAX });
  const allowedTools = c.string('allowed-tools');
  const metadataObject = c.object('metadata');
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadataObject ?? {})) {
    if (typeof value === 'string') metadata[key] = value;
    else c.problem(`metadata.${key} must be a string (quote it: "${String(JSON.stringify(value) ?? value)}")`);
  }
  const version = metadata.version ?? null;
  if (version !== null && !isStrictSemver(version)) c.problem(`metadata.version '${version}' is not valid semver`);

  const body = parts.body.trim();
  const warnings: string[] = [];
  if (body === '') warnings.push(`${SKILL_FILE}: has no instructions after the front matter`);
  if (metadataObject?.version === undefined) warnings.push(`${SKILL_FILE}: no metadata.version; publishing to Agentry needs one (or a version sent with the upload)`);
  const lines = text.split('\n').length;
  if (lines > SKILL_MD_RECOMMENDED_LINES) {
    warnings.push(`${SKILL_FILE}: is ${lines} lines long; the specification recommends under ${SKILL_MD_RECOMMENDED_LINES} (move detail into references/)`);
  }
  if (c.problems.length > 0 || name === undefined || description === undefined) return { errors: c.problems, warnings };
  return {
    errors: [],
    warnings,
    document: {
      name,
      description,
      license: license ?? null,
      compatibility: compatibility ?? null,
      metadata,
      allowedTools: splitTools(allowedTools),
      version,
      body,
      raw: data,
    },
  };
};

/** One entry of a skill folder or archive, relative to the skill's root, with `/` separators. */
export interface SkillEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
  size: number;
}

export interface SkillFolderInput {
  /** The folder's name, which `name` must equal; undefined when unknown (a bare archive). */
  folderName?: string;
  /** The text of the root SKILL.md; undefined when there is none. */
  skillMd?: string;
  entries: readonly SkillEntry[];
  /** Problems the reader of the folder or archive already found (links leaving it, unreadable files). */
  problems?: readonly string[];
}

export interface SkillValidation {
  valid: boolean;
  errors: string[];
  warnings: string[];
  document?: SkillDocument;
}

/** Validates a whole skill: SKILL.md, its name against the folder name, and the optional folders. */
export const validateSkillFolder = (input: SkillFolderInput): SkillValidation => {
  const errors = [...(input.problems ?? [])];
  const warnings: string[] = [];
  let document: SkillDocument | undefined;
  if (input.skillMd === undefined) {
    errors.push(`${SKILL_FILE}: missing; a skill is a folder with SKILL.md at its root`);
  } else {
    const md = checkSkillMd(input.skillMd);
    errors.push(...md.errors);
    warnings.push(...md.warnings);
    document = md.document;
    const name = md.document?.name ?? nameIn(input.skillMd);
    if (input.folderName === undefined) {
      warnings.push(`${SKILL_FILE}: the folder name is unknown, so 'name' could not be compared with it`);
    } else if (name !== undefined && name !== input.folderName) {
      errors.push(`${SKILL_FILE}: name '${name}' must equal the skill's folder name '${input.folderName}'`);
    }
  }
  for (const folder of SKILL_FOLDERS) {
    const entry = input.entries.find((e) => e.path === folder);
    if (entry && entry.type !== 'directory') errors.push(`${folder}: must be a folder (the specification's optional ${folder}/ directory), not a ${entry.type}`);
  }
  return { valid: errors.length === 0, errors, warnings, ...(errors.length === 0 && document ? { document } : {}) };
};

/** The `name` of a SKILL.md whose other fields failed, so the folder-name rule is still reported. */
const nameIn = (text: string): string | undefined => {
  const parts = splitFrontMatter(text);
  if (!parts) return undefined;
  const { data } = parseMapping(SKILL_FILE, parts.yaml, 'yaml');
  return typeof data?.name === 'string' ? data.name : undefined;
};

/** An Agent Skills SKILL.md as a package manifest (`metadata.version` is the version). */
export const parseSkillManifest = (text: string): ManifestResult => {
  const { document, errors } = checkSkillMd(text);
  if (!document) return { problems: errors };
  return { problems: [], manifest: skillManifest(document) };
};

const skillManifest = (d: SkillDocument): PackageManifest => ({
  kind: 'skill',
  file: SKILL_FILE,
  name: d.name,
  scope: null,
  version: d.version,
  description: d.description,
  category: d.metadata.category ?? null,
  tags: d.metadata.tags
    ? d.metadata.tags
        .split(/[,\s]+/)
        .filter(Boolean)
        .slice(0, 10)
    : [],
  license: d.license,
  repository: d.metadata.repository ?? null,
  homepage: d.metadata.homepage ?? null,
  readme: d.body.length > 0 ? d.body : null,
  raw: isPlainObject(d.raw) ? d.raw : {},
});

/** The fields of a stored (already validated) SKILL.md front matter, as `checkSkillMd` reads them. */
export const skillFrontMatter = (raw: Record<string, unknown>): Omit<SkillDocument, 'body' | 'raw' | 'version'> => {
  const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
  const metadata = isPlainObject(raw.metadata) ? Object.fromEntries(Object.entries(raw.metadata).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  return {
    name: text(raw.name) ?? '',
    description: text(raw.description) ?? '',
    license: text(raw.license),
    compatibility: text(raw.compatibility),
    metadata,
    allowedTools: splitTools(text(raw['allowed-tools']) ?? undefined),
  };
};

/** `allowed-tools` is a space-delimited list. */
const splitTools = (value: string | undefined): string[] => (value ? value.split(/\s+/).filter(Boolean) : []);
