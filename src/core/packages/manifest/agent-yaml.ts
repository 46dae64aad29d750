import { CATEGORY_SLUGS } from '../categories.js';
import { FieldChecker, isPlainObject } from './fields.js';
import type { ManifestResult } from './package-manifest.js';
import { parseMapping } from './parse-text.js';
import { agentCardProblems } from '../../a2a/remote-card.js';

const FILE = 'agent.yaml';
const FIELDS = [
  'name',
  'version',
  'description',
  'author',
  'license',
  'tags',
  'category',
  'requires',
  'mcp_servers',
  'secrets',
  'permissions',
  'config',
  'examples',
  'repository',
  'homepage',
  'a2a',
] as const;
const PERMISSIONS = ['filesystem', 'network', 'execute_commands'];
/** An agent's `name`: lower-case letters, digits and hyphens, at most 100. */
export const AGENT_NAME_PATTERN = /^[a-z0-9-]+$/;
export const AGENT_NAME_MAX = 100;
export const AGENT_DESCRIPTION_MAX = 500;
const SECRET_REF = /\$\{secrets\.([A-Za-z0-9_]+)\}/g;

/** agentx's agent.yaml, validated field by field; unknown fields are errors. */
export const validateAgentManifest = (data: Record<string, unknown>): ManifestResult => {
  const c = new FieldChecker(FILE, data);
  c.unknownFields(FIELDS);
  const name = c.string('name', { required: true, max: AGENT_NAME_MAX, pattern: AGENT_NAME_PATTERN, patternHint: 'must match ^[a-z0-9-]+$' });
  const version = c.version();
  const description = c.string('description', { required: true, max: AGENT_DESCRIPTION_MAX });
  const author = c.string('author', { required: true, pattern: /^@[a-z0-9][a-z0-9.-]*$/, patternHint: "must be the scope it publishes to, like '@alice'" });
  const license = c.string('license', { max: 100 });
  const tags = c.stringList('tags', { max: 10, itemMax: 50 });
  const category = c.string('category', { oneOf: CATEGORY_SLUGS });
  const repository = c.string('repository', { max: 500 });
  const homepage = c.string('homepage', { max: 500 });
  c.object('requires');
  c.object('config');

  const declaredSecrets = new Set<string>();
  const secrets = data.secrets;
  if (secrets !== undefined && secrets !== null) {
    if (Array.isArray(secrets)) {
      for (const s of secrets) {
        if (typeof s === 'string') declaredSecrets.add(s);
        else if (isPlainObject(s) && typeof s.name === 'string') declaredSecrets.add(s.name);
        else c.problem("entries of 'secrets' must be names or mappings with a 'name'");
      }
    } else if (isPlainObject(secrets)) {
      for (const key of Object.keys(secrets)) declaredSecrets.add(key);
    } else {
      c.problem("field 'secrets' must be a list or a mapping");
    }
  }

  const servers = c.object('mcp_servers');
  for (const [id, server] of Object.entries(servers ?? {})) {
    if (!isPlainObject(server)) {
      c.problem(`mcp_servers.${id} must be a mapping with 'command', 'args' and 'env'`);
      continue;
    }
    for (const key of Object.keys(server)) {
      if (!['command', 'args', 'env'].includes(key)) c.problem(`mcp_servers.${id}: unknown field '${key}'`);
    }
    if (typeof server.command !== 'string' || server.command.length === 0) c.problem(`mcp_servers.${id}: missing required field 'command'`);
    if (server.args !== undefined && (!Array.isArray(server.args) || server.args.some((a) => typeof a !== 'string'))) {
      c.problem(`mcp_servers.${id}.args must be a list of strings`);
    }
    if (server.env !== undefined) {
      if (!isPlainObject(server.env) || Object.values(server.env).some((v) => typeof v !== 'string')) {
        c.problem(`mcp_servers.${id}.env must map names to strings`);
      } else {
        for (const value of Object.values(server.env) as string[]) {
          for (const m of value.matchAll(SECRET_REF)) {
            if (declaredSecrets.size > 0 && !declaredSecrets.has(m[1])) c.problem(`mcp_servers.${id}.env references undeclared secret '${m[1]}'`);
          }
        }
      }
    }
  }

  const permissions = c.object('permissions');
  for (const [key, value] of Object.entries(permissions ?? {})) {
    if (!PERMISSIONS.includes(key)) c.problem(`permissions: unknown field '${key}'`);
    else if (typeof value !== 'boolean') c.problem(`permissions.${key} must be true or false`);
  }

  const examples = c.list('examples');
  for (const [i, ex] of (examples ?? []).entries()) {
    if (!isPlainObject(ex) || typeof ex.prompt !== 'string') c.problem(`examples[${i}] must be a mapping with a 'prompt' string`);
  }

  // A remote A2A agent (issue 20): its card as imported, and where it was fetched from.
  const a2a = c.object('a2a');
  if (a2a) {
    for (const key of Object.keys(a2a)) if (key !== 'card' && key !== 'card_url') c.problem(`a2a: unknown field '${key.slice(0, 64)}'`);
    if (a2a.card_url !== undefined && (typeof a2a.card_url !== 'string' || !/^https?:\/\//.test(a2a.card_url))) c.problem('a2a.card_url must be an http(s) URL');
    for (const p of agentCardProblems(a2a.card, 'a2a.card')) c.problem(p);
  }

  if (c.problems.length > 0 || !name || !version) return { problems: c.problems };
  return {
    problems: [],
    manifest: {
      kind: 'agent',
      file: FILE,
      name,
      scope: author ? author.slice(1) : null,
      version,
      description: description ?? null,
      category: category ?? null,
      tags,
      license: license ?? null,
      repository: repository ?? null,
      homepage: homepage ?? null,
      readme: null,
      raw: data,
    },
  };
};

export const parseAgentManifest = (text: string): ManifestResult => {
  const { data, problem } = parseMapping(FILE, text, 'yaml');
  return data ? validateAgentManifest(data) : { problems: [problem!] };
};
