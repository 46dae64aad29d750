import { versionSchemeOf } from '../../version-scheme.js';
import type { ManifestResult } from '../package-manifest.js';
import { parseMapping } from '../parse-text.js';
import { fieldRank, issueMessage } from './issue-messages.js';
import { schemaIssues, type Segment } from './schema-validator.js';
import { coveredBySemanticChecks, semanticProblems } from './semantic-checks.js';

const FILE = 'server.json';

/**
 * An MCP server.json, validated against the official server.json JSON Schema (2025-12-11,
 * embedded in ./schema) and then by the rules no schema expresses (./semantic-checks.ts):
 * `name` is `<namespace>/<name>` and the namespace is the package's scope; `version` is one
 * exact version (not `latest`, not a range; semver or opaque). Every problem is reported at
 * once, one line each, named by its path. Used by the tarball publish path and by the MCP
 * registry door.
 */
export const parseServerManifest = (text: string): ManifestResult => {
  const { data, problem } = parseMapping(FILE, text, 'json');
  if (!data) return { problems: [problem!] };

  const found: Array<{ path: Segment[]; message: string; unknown: boolean }> = [];
  for (const issue of schemaIssues(data)) {
    if (!coveredBySemanticChecks(issue.keyword, issue.path)) found.push({ path: issue.path, message: issueMessage(issue), unknown: false });
  }
  for (const p of semanticProblems(data, versionSchemeOf('mcp-server'))) found.push({ ...p, unknown: p.message.startsWith('unknown field') });
  // Unknown fields first, then by top-level field (name, description, version, ... _meta); stable within one.
  const rank = (f: (typeof found)[number]): number => (f.unknown ? -1 : fieldRank(f.path));
  const problems = found
    .map((f, i) => ({ f, i }))
    .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
    .map(({ f }) => `${FILE}: ${f.message}`);
  if (problems.length > 0) return { problems };

  // The schema and the checks above guarantee these shapes.
  const name = data.name as string;
  const slash = name.indexOf('/');
  const repository = data.repository as { url: string } | undefined;
  return {
    problems: [],
    manifest: {
      kind: 'mcp-server',
      file: FILE,
      name: name.slice(slash + 1),
      scope: name.slice(0, slash),
      version: data.version as string,
      description: data.description as string,
      category: null,
      tags: [],
      license: null,
      repository: repository?.url ?? null,
      homepage: (data.websiteUrl as string | undefined) ?? null,
      readme: null,
      raw: data,
    },
  };
};
