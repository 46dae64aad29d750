import { packageNameProblem, scopeProblem } from '../names.js';
import { versionSchemeOf } from '../version-scheme.js';
import { FieldChecker } from './fields.js';
import type { ManifestResult } from './package-manifest.js';
import { parseMapping } from './parse-text.js';
import { PathChecker, checkIcon, checkMeta, checkPackage, checkRemote, checkRepository } from './server-json-parts.js';

const FILE = 'server.json';
const FIELDS = ['$schema', 'name', 'title', 'description', 'version', 'packages', 'remotes', 'repository', 'websiteUrl', 'icons', '_meta'] as const;
export const MCP_SERVER_NAME = /^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/;

/**
 * An MCP server.json, checked against the server.json schema (2025-12-11): `name` is
 * `<namespace>/<name>` and the namespace is the package's scope; `version` follows the
 * mcp-server version scheme (exact, not `latest`, not a range; semver or opaque). Every
 * problem is reported at once. Used by the tarball publish path and by the MCP registry door.
 */
export const parseServerManifest = (text: string): ManifestResult => {
  const { data, problem } = parseMapping(FILE, text, 'json');
  if (!data) return { problems: [problem!] };
  const scheme = versionSchemeOf('mcp-server');
  const c = new FieldChecker(FILE, data);
  c.unknownFields(FIELDS);
  const name = c.string('name', { required: true, max: 200, pattern: MCP_SERVER_NAME, patternHint: "must be '<namespace>/<name>', e.g. 'io.github.alice/weather'" });
  if (name !== undefined && name.length < 3) c.problem("field 'name' must be at least 3 characters");
  const slash = name?.indexOf('/') ?? -1;
  if (name !== undefined && MCP_SERVER_NAME.test(name)) {
    for (const p of [scopeProblem(name.slice(0, slash)), packageNameProblem(name.slice(slash + 1))]) if (p) c.problem(`field 'name': ${p}`);
  }
  const description = c.string('description', { required: true, max: 100 });
  const version = c.version('version', true, scheme);
  c.string('title', { max: 100 });
  c.string('$schema', { max: 500 });
  const websiteUrl = c.string('websiteUrl', { max: 500 });

  const parts = new PathChecker(FILE);
  if (typeof data.$schema === 'string') parts.uri('$schema', data.$schema);
  if (websiteUrl !== undefined) parts.uri('websiteUrl', websiteUrl);
  for (const [i, p] of parts.list('packages', data.packages).entries()) checkPackage(parts, `packages[${i}]`, p, (v) => scheme.problem(v));
  for (const [i, r] of parts.list('remotes', data.remotes).entries()) checkRemote(parts, `remotes[${i}]`, r);
  for (const [i, icon] of parts.list('icons', data.icons).entries()) checkIcon(parts, `icons[${i}]`, icon);
  const repository = checkRepository(parts, 'repository', data.repository);
  checkMeta(parts, '_meta', data._meta);

  const problems = [...c.problems, ...parts.problems];
  if (problems.length > 0 || !name || !version) return { problems };
  return {
    problems: [],
    manifest: {
      kind: 'mcp-server',
      file: FILE,
      name: name.slice(slash + 1),
      scope: name.slice(0, slash),
      version,
      description: description ?? null,
      category: null,
      tags: [],
      license: null,
      repository: repository ?? null,
      homepage: websiteUrl ?? null,
      readme: null,
      raw: data,
    },
  };
};
