import { FieldChecker, isPlainObject } from './fields.js';
import type { ManifestResult } from './package-manifest.js';
import { parseMapping } from './parse-text.js';

const FILE = 'server.json';
const FIELDS = ['$schema', 'name', 'title', 'description', 'version', 'packages', 'remotes', 'repository', 'websiteUrl', 'icons', '_meta'] as const;
export const MCP_SERVER_NAME = /^[a-zA-Z0-9.-]+\/[a-zA-Z0-9._-]+$/;

/** An MCP server.json: `name` is `<namespace>/<server>`, and the namespace is the package's scope. */
export const parseServerManifest = (text: string): ManifestResult => {
  const { data, problem } = parseMapping(FILE, text, 'json');
  if (!data) return { problems: [problem!] };
  const c = new FieldChecker(FILE, data);
  c.unknownFields(FIELDS);
  const name = c.string('name', { required: true, max: 200, pattern: MCP_SERVER_NAME, patternHint: "must be '<namespace>/<name>', e.g. 'io.github.alice/weather'" });
  const description = c.string('description', { required: true, max: 100 });
  const version = c.version();
  c.string('title', { max: 100 });
  const websiteUrl = c.string('websiteUrl', { max: 500 });
  for (const field of ['packages', 'remotes'] as const) {
    for (const [i, entry] of (c.list(field) ?? []).entries()) {
      if (!isPlainObject(entry)) c.problem(`${field}[${i}] must be an object`);
    }
  }
  const repo = c.object('repository');
  if (c.problems.length > 0 || !name || !version) return { problems: c.problems };
  const slash = name.indexOf('/');
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
      repository: typeof repo?.url === 'string' ? repo.url : null,
      homepage: websiteUrl ?? null,
      readme: null,
      raw: data,
    },
  };
};
