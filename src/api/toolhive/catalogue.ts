import type { RequestContext } from '../../core/auth/principal.js';
import type { PackageView } from '../../core/packages/package-service.js';
import type { Registry } from '../../core/registry.js';
import type { PackageKind } from '../../core/packages/kinds.js';
import { sourceOfUpstream, sourceOfView, toToolhiveServer, type ServerSource, type ToolhiveServer } from './server-views.js';

/** Reads of the core's packages that several ToolHive routes share: pages of views, and every server. */

const PAGE = 100;

/** One page of the packages of `kind` the caller may read, by relevance when searching, else by name, with their latest versions. */
export const viewsPage = async (registry: Registry, ctx: RequestContext, kind: PackageKind, q: string | undefined, page: number, limit: number): Promise<{ views: PackageView[]; total: number }> => {
  const text = q?.trim() || undefined;
  const result = await registry.packages.query(ctx, { kind, text, sort: text ? 'relevance' : 'name', offset: (page - 1) * limit, limit });
  const views = await Promise.all(result.rows.map((row) => registry.packages.get(ctx, row.scope, row.name, kind)));
  return { views, total: result.total };
};

/** Every MCP server package's latest version, by name. */
const allServerViews = async (registry: Registry, ctx: RequestContext): Promise<PackageView[]> => {
  const views: PackageView[] = [];
  for (let page = 1; ; page++) {
    const r = await viewsPage(registry, ctx, 'mcp-server', undefined, page, PAGE);
    views.push(...r.views);
    if (r.views.length < PAGE || views.length >= r.total) return views;
  }
};

/**
 * Every server as ToolHive lists it: the local ones, and the MCP upstreams' (a local server wins on a
 * name clash; pinned namespaces never come from upstreams). A server is listed under the part of its
 * name after the `/` (`io.github.alice/weather` → `weather`), as ToolHive does, unless two namespaces
 * share that name: then each goes under its full reverse-DNS name. Servers ToolHive cannot run are
 * left out. `stale` names the upstreams served from their cache because they could not be read.
 */
export const allToolhiveServers = async (registry: Registry, ctx: RequestContext): Promise<{ servers: ToolhiveServer[]; lastUpdated: string | undefined; stale: string[] }> => {
  const views = await allServerViews(registry, ctx);
  const upstream = registry.mcpMirrors ? await registry.mcpMirrors.latest(ctx) : { rows: [], stale: [] };
  const sources = [...views.map(sourceOfView).filter((s): s is ServerSource => s !== undefined), ...upstream.rows.map((r) => sourceOfUpstream(r.upstream, r.url))];
  const shortName = (s: ServerSource) => s.fullName.split('/').pop()!;
  const counts = new Map<string, number>();
  for (const s of sources) counts.set(shortName(s), (counts.get(shortName(s)) ?? 0) + 1);
  const servers = sources.map((s) => toToolhiveServer(s, counts.get(shortName(s)) === 1 ? shortName(s) : s.fullName)).filter((s): s is ToolhiveServer => s !== undefined);
  const lastUpdated = sources
    .map((s) => s.updatedAt)
    .sort()
    .pop();
  return { servers, lastUpdated, stale: upstream.stale };
};
