import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { badRequest, isAgentryError, notFound } from '../../../core/errors.js';
import { baseUrl } from '../../shared/base-url.js';
import { requestContext } from '../../shared/request-context.js';
import { viewsPage } from '../catalogue.js';
import type { ToolhiveDoorOptions } from '../index.js';
import { CatalogueParams, CatalogueServerParams, CatalogueSkillParams, PageQuery, ServerJson, ServersV01, Skill, SkillsV01, registryErrors } from '../schemas.js';
import { serverJsonOf, upstreamServerJsonOf } from '../server-views.js';
import { markStale } from '../../shared/mirror-stale.js';
import { toToolhiveSkill, type ToolhiveSkill } from '../skill-views.js';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 200;
/** Pages beyond this would only ever be empty; capping keeps the offset a small integer (ToolHive caps against overflow too). */
const MAX_OFFSET = 2 ** 31;

/** A positive integer, or undefined: ToolHive ignores what `strconv.Atoi` refuses and what is not above 0. */
const positive = (v: number | string | undefined): number | undefined => {
  const n = typeof v === 'number' ? v : v !== undefined && /^[+-]?\d{1,15}$/.test(v) ? Number(v) : undefined;
  return n !== undefined && Number.isSafeInteger(n) && n > 0 ? n : undefined;
};

/** ToolHive's paging rules: page 1 and limit 50 by default, a limit above 200 capped to 200, bad values defaulted. */
export const pagingOf = (q: PageQuery): { page: number; limit: number } => {
  const limit = Math.min(positive(q.limit) ?? DEFAULT_LIMIT, MAX_LIMIT);
  const page = Math.min(positive(q.page) ?? 1, Math.floor(MAX_OFFSET / limit));
  return { page, limit };
};

/**
 * ToolHive's MCP-format catalogue, `/registry/{registryName}/v0.1/…`: page-based lists of
 * server.json documents and ToolHive's skills extension. `registryName` is accepted and ignored,
 * as ToolHive does. Every route has `v0.1` as its third path segment, so other `/registry/…`
 * routes (Alquimia's agentspace API) stay apart.
 */
export const catalogueRoutes: FastifyPluginAsyncTypebox<ToolhiveDoorOptions> = async (app, { registry, publicUrl }) => {
  const tags = ['toolhive'];
  const paging = pagingOf;

  app.get('/registry/:registryName/v0.1/servers', {
    schema: { tags, summary: 'List MCP servers (server.json), page-based', params: CatalogueParams, querystring: PageQuery, response: { 200: ServersV01, ...registryErrors } },
    handler: async (req, reply) => {
      const { page, limit } = paging(req.query);
      const ctx = await requestContext(registry, req);
      if (registry.mcpMirrors) {
        // With MCP upstreams: the merged listing (local wins, pinned namespaces local only), in name order.
        const merged = await registry.mcpMirrors.latestPage(ctx, req.query.q?.trim() || undefined, (page - 1) * limit, limit);
        markStale(reply, merged.stale);
        const servers = merged.rows.map((r) => ('local' in r ? serverJsonOf({ pkg: r.local.pkg, latest: r.local.version, distTags: {}, owner: undefined }) : upstreamServerJsonOf(r.upstream, r.url)));
        return { metadata: { total: merged.total, page, limit }, servers };
      }
      const { views, total } = await viewsPage(registry, ctx, 'mcp-server', req.query.q, page, limit);
      return { metadata: { total, page, limit }, servers: views.map(serverJsonOf) };
    },
  });

  app.get('/registry/:registryName/v0.1/servers/:serverName/versions/latest', {
    schema: {
      tags,
      summary: "Get the latest version of an MCP server by its reverse-DNS name ('/' sent as %2F)",
      params: CatalogueServerParams,
      response: { 200: ServerJson, ...registryErrors },
    },
    handler: async (req, reply) => {
      const name = req.params.serverName;
      const slash = name.indexOf('/');
      if (slash <= 0 || slash === name.length - 1 || name.indexOf('/', slash + 1) !== -1) {
        throw badRequest(`Server name '${name}' is not '<namespace>/<name>' (send the '/' as %2F)`);
      }
      const ctx = await requestContext(registry, req);
      try {
        return serverJsonOf(await registry.packages.get(ctx, name.slice(0, slash), name.slice(slash + 1), 'mcp-server'));
      } catch (e) {
        const missing = isAgentryError(e) && (e.status === 400 || e.code === 'not_found');
        // Not here: an upstream's latest version, if one lists it (local wins).
        const up = missing && registry.mcpMirrors ? await registry.mcpMirrors.versions(ctx, name, false) : undefined;
        const latest = up?.rows.find((r) => r.isLatest);
        if (up && latest) {
          markStale(reply, up.stale);
          return upstreamServerJsonOf(latest, up.url);
        }
        if (isAgentryError(e) && e.status === 400) throw notFound(`Server not found: '${name}'`);
        throw e;
      }
    },
  });

  app.get('/registry/:registryName/v0.1/x/dev.toolhive/skills', {
    schema: { tags, summary: 'List skills, page-based (ToolHive extension)', params: CatalogueParams, querystring: PageQuery, response: { 200: SkillsV01, ...registryErrors } },
    handler: async (req) => {
      const { page, limit } = paging(req.query);
      const { views, total } = await viewsPage(registry, await requestContext(registry, req), 'skill', req.query.q, page, limit);
      const base = baseUrl(req, publicUrl);
      const skills = views.map((v) => toToolhiveSkill(v, base)).filter((s): s is ToolhiveSkill => s !== undefined);
      return { metadata: { total, page, limit }, skills };
    },
  });

  app.get('/registry/:registryName/v0.1/x/dev.toolhive/skills/:namespace/:skillName', {
    schema: { tags, summary: 'Get a skill by namespace (its scope) and name (ToolHive extension)', params: CatalogueSkillParams, response: { 200: Skill, ...registryErrors } },
    handler: async (req) => {
      const { namespace, skillName } = req.params;
      let skill: ToolhiveSkill | undefined;
      try {
        skill = toToolhiveSkill(await registry.packages.get(await requestContext(registry, req), namespace, skillName, 'skill'), baseUrl(req, publicUrl));
      } catch (e) {
        if (!isAgentryError(e) || e.status !== 400) throw e;
      }
      if (!skill) throw notFound(`Skill not found: '${namespace}/${skillName}'`);
      return skill;
    },
  });
};
