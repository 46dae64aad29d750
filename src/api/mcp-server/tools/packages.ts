import type { Static } from 'typebox';
import type { PackageSort } from '../../../core/packages/package-repo.js';
import { GetPackageInput, SearchInput } from '../schemas.js';
import { splitPackageRef } from '../package-ref.js';
import { tool, type McpCall } from '../tool.js';
import { packageDetail, packageSummary } from '../views.js';

/** The search tool's arguments as the core's package query (the one the native search route runs). */
export const searchPackages = async ({ registry, ctx }: McpCall, args: Static<typeof SearchInput>) => {
  const page = args.page ?? 1;
  const limit = args.limit ?? 10;
  const owner = args.owner === undefined ? undefined : await registry.accounts.find(args.owner);
  const query: Parameters<McpCall['registry']['packages']['query']>[1] = {
    text: args.query,
    kind: args.kind,
    scope: args.scope?.replace(/^@/, ''),
    category: args.category,
    tag: args.tag,
    ownerAccountId: owner?.id,
    verified: args.verified,
    deprecated: args.deprecated,
    sort: (args.sort as PackageSort | undefined) ?? (args.query ? 'relevance' : 'downloads'),
    mode: args.mode,
    offset: (page - 1) * limit,
    limit,
  };
  const r = await registry.packages.query(ctx, query);
  return {
    packages: r.rows.map((p) => packageSummary(p, r.owners.get(p.ownerAccountId), r.upstreams)),
    total: r.total,
    ...(r.estimated ? { total_estimated: true } : {}),
    ...(r.search ? { mode: r.search.mode, ...(r.search.semanticUnavailable ? { semantic_unavailable: r.search.semanticUnavailable } : {}) } : {}),
    page,
    limit,
  };
};

export const SEARCH_PACKAGES = tool({
  name: 'search_packages',
  title: 'Search packages',
  description:
    'Search the agents, skills, MCP servers and recipes of this Agentry registry that you may read, with filters (kind, category, tag, scope, owner, verified, deprecated), sorted and paged; by words, or by meaning (mode semantic or hybrid) where the server has embeddings. ' +
    'Answers a page of packages (name as @scope/name, kind, description, latest version, downloads) and the total.',
  input: SearchInput,
  annotations: { readOnlyHint: true, openWorldHint: false },
  run: searchPackages,
});

export const GET_PACKAGE = tool({
  name: 'get_package',
  title: 'Show a package',
  description:
    'Show one package of this registry: its README, manifest, versions (newest first), dist-tags, and how to install or run it (CLI, MCP client configuration, ToolHive, OCI), ' +
    'and the URIs of its README (and, for a skill, SKILL.md) as resources.',
  input: GetPackageInput,
  annotations: { readOnlyHint: true, openWorldHint: false },
  run: async ({ registry, ctx, origin }, args) => {
    const { scope, name } = splitPackageRef(args.package);
    const view = await registry.packages.get(ctx, scope, name, args.kind);
    const { versions } = await registry.packages.versions(ctx, scope, name, args.kind);
    return packageDetail(view, versions.slice(0, args.versions ?? 20), origin);
  },
});
