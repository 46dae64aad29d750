import { packageNameProblem, scopeProblem } from '../../names.js';
import type { VersionScheme } from '../../version-scheme.js';
import { isPlainObject } from '../fields.js';
import { pathText } from './issue-messages.js';
import type { Segment } from './schema-validator.js';

/** A rule broken that no JSON Schema expresses, with the path it is about and its line. */
export interface SemanticProblem {
  path: Segment[];
  message: string;
}

/** Every top-level field of the 2025-12-11 schema; Agentry refuses others rather than drop them silently. */
const FIELDS = ['$schema', 'name', 'title', 'description', 'version', 'packages', 'remotes', 'repository', 'websiteUrl', 'icons', '_meta'];
export const MCP_SERVER_NAME = /^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/;
/** The publisher's own metadata may be at most this many bytes of JSON (as in the official registry). */
export const PUBLISHER_META_KEY = 'io.modelcontextprotocol.registry/publisher-provided';
const MAX_PUBLISHER_META_BYTES = 4096;

const at = (path: Segment[], message: string): SemanticProblem => ({ path, message: `${pathText(path)} ${message}` });
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

/**
 * The checks beyond the schema, run on what the schema let through (each skips a value of the
 * wrong shape, which the schema already reported):
 * - no unknown top-level field;
 * - the name's namespace is an Agentry scope and its last part a package name;
 * - the server's version is one exact version of the kind's scheme (not `latest`, not a range),
 *   and so is each package's version;
 * - icons are served over https; a repository subfolder is a clean relative path;
 * - the publisher-provided metadata is at most 4 KiB of JSON.
 */
export const semanticProblems = (data: Record<string, unknown>, scheme: VersionScheme): SemanticProblem[] => {
  const out: SemanticProblem[] = [];
  for (const key of Object.keys(data)) if (!FIELDS.includes(key)) out.push({ path: [key], message: `unknown field '${key}'` });

  const { name, version } = data;
  if (typeof name === 'string' && MCP_SERVER_NAME.test(name)) {
    const slash = name.indexOf('/');
    for (const p of [scopeProblem(name.slice(0, slash)), packageNameProblem(name.slice(slash + 1))]) if (p) out.push({ path: ['name'], message: `field 'name': ${p}` });
  }
  // The schema reports a version over 255 characters; an empty one reads as missing.
  if (version === '') out.push({ path: ['version'], message: "missing required field 'version'" });
  else if (typeof version === 'string' && version.length <= 255) {
    const p = scheme.problem(version);
    if (p) out.push({ path: ['version'], message: p });
  }

  for (const [i, pkg] of list(data.packages).entries()) {
    if (!isPlainObject(pkg) || typeof pkg.version !== 'string' || pkg.version === '') continue;
    const p = scheme.problem(pkg.version);
    if (p) out.push(at(['packages', i, 'version'], `is invalid: ${p}`));
  }

  for (const [i, icon] of list(data.icons).entries()) {
    if (!isPlainObject(icon) || typeof icon.src !== 'string' || !URL.canParse(icon.src)) continue;
    if (new URL(icon.src).protocol !== 'https:') out.push(at(['icons', i, 'src'], 'must be an https:// URL'));
  }

  const repo = data.repository;
  if (isPlainObject(repo) && typeof repo.subfolder === 'string') {
    const sub = repo.subfolder;
    if (sub.startsWith('/') || sub.includes('\\') || sub.split('/').some((seg) => seg === '..' || seg === '.')) {
      out.push(at(['repository', 'subfolder'], "must be a clean relative path (no leading '/', no '.' or '..' segments)"));
    }
  }

  const meta = data._meta;
  const provided = isPlainObject(meta) ? meta[PUBLISHER_META_KEY] : undefined;
  if (isPlainObject(provided)) {
    const bytes = Buffer.byteLength(JSON.stringify(provided), 'utf8');
    if (bytes > MAX_PUBLISHER_META_BYTES) out.push(at(['_meta', PUBLISHER_META_KEY], `is ${bytes} bytes of JSON; at most ${MAX_PUBLISHER_META_BYTES} are allowed`));
  }
  return out;
};

/** The schema's `not: {const: 'latest'}` on a package version: the version check above says it better. */
export const coveredBySemanticChecks = (keyword: string, path: readonly Segment[]): boolean => keyword === 'not' && path.length === 3 && path[0] === 'packages' && path[2] === 'version';
