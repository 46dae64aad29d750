import type { Resource, ResourceTemplate, ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { notFound } from '../../core/errors.js';
import type { McpCall } from './tool.js';
import { RESOURCE_NOT_FOUND } from './errors.js';
import { readmeUri, skillMdUri } from './views.js';

/** The resources of Agentry's MCP endpoint: package READMEs and skills' SKILL.md, read through the core's access rule. */

export const RESOURCE_TEMPLATES: ResourceTemplate[] = [
  {
    uriTemplate: 'agentry://packages/{scope}/{name}/readme',
    name: 'package-readme',
    title: "A package's README",
    description: 'The README of the latest version of a package of any kind (scope without its @)',
    mimeType: 'text/markdown',
  },
  {
    uriTemplate: 'agentry://skills/{scope}/{name}/SKILL.md',
    name: 'skill-md',
    title: "A skill's SKILL.md",
    description: 'The SKILL.md of the latest version of a skill, as it was published (scope without its @)',
    mimeType: 'text/markdown',
  },
];

/** How many packages one page of `resources/list` covers. */
const PAGE = 50;

/** A page of the resources the caller may read, packages by name; the cursor is where the next page starts. */
export const listResources = async ({ registry, ctx }: Omit<McpCall, 'signal'>, cursor: string | undefined): Promise<{ resources: Resource[]; nextCursor?: string }> => {
  if (cursor !== undefined && !/^\d{1,9}$/.test(cursor)) throw new McpError(ErrorCode.InvalidParams, 'Invalid cursor');
  const offset = cursor === undefined ? 0 : Number(cursor);
  const page = await registry.packages.query(ctx, { sort: 'name', offset, limit: PAGE });
  const resources: Resource[] = [];
  for (const p of page.rows) {
    const name = `@${p.scope}/${p.name}`;
    if (p.readme !== null) resources.push({ uri: readmeUri(p.scope, p.name), name: `${name} README`, mimeType: 'text/markdown', ...(p.description ? { description: p.description } : {}) });
    if (p.kind === 'skill') resources.push({ uri: skillMdUri(p.scope, p.name), name: `${name} SKILL.md`, mimeType: 'text/markdown', ...(p.description ? { description: p.description } : {}) });
  }
  const next = offset + page.rows.length;
  return { resources, ...(page.rows.length === PAGE && next < page.total ? { nextCursor: String(next) } : {}) };
};

const URI = /^agentry:\/\/(packages|skills)\/([^/?#]+)\/([^/?#]+)\/(readme|SKILL\.md)$/;

const segment = (s: string): string => {
  try {
    return decodeURIComponent(s).replace(/^@/, '');
  } catch {
    throw new McpError(ErrorCode.InvalidParams, 'The resource URI holds an invalid percent-encoding');
  }
};

/** One resource, if the caller may read it: a package it may not read is as absent as one that does not exist. */
export const readResource = async ({ registry, ctx }: Omit<McpCall, 'signal'>, uri: string): Promise<ReadResourceResult> => {
  const m = URI.exec(uri);
  if (!m || (m[1] === 'packages') !== (m[4] === 'readme')) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri.slice(0, 200)}`);
  const scope = segment(m[2]);
  const name = segment(m[3]);
  if (m[1] === 'skills') {
    const file = await registry.skills.skillMd(`@${scope}/${name}`, { ctx, selfHosts: [] });
    return { contents: [{ uri, mimeType: 'text/markdown', text: file.text }], _meta: { version: file.version } };
  }
  const view = await registry.packages.get(ctx, scope, name);
  if (view.pkg.readme === null) throw notFound(`@${view.pkg.scope}/${view.pkg.name} has no README`);
  return { contents: [{ uri, mimeType: 'text/markdown', text: view.pkg.readme }], ...(view.pkg.latestVersion ? { _meta: { version: view.pkg.latestVersion } } : {}) };
};
