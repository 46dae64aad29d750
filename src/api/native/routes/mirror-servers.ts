import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { badRequest, notImplemented } from '../../../core/errors.js';
import type { UpstreamPosition } from '../../../core/mirrors/mcp-mirror.js';
import { markStale } from '../../shared/mirror-stale.js';
import { requestContext } from '../../shared/request-context.js';
import type { NativeDoorOptions } from '../index.js';
import { errorResponses } from '../schemas.js';

const Params = Type.Object({ name: Type.String({ minLength: 1, maxLength: 63, description: 'The MCP mirror' }) });

const Query = Type.Object(
  {
    search: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive substring of the name or the description' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 30 })),
    cursor: Type.Optional(Type.String({ maxLength: 2048, description: "The previous page's `next_cursor`" })),
  },
  { additionalProperties: false },
);

const MirrorServer = Type.Object({
  name: Type.String({ description: 'The server name (namespace/name)' }),
  version: Type.String({ description: "The upstream's latest version" }),
  description: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('deprecated')]),
  published_at: Type.Union([Type.String(), Type.Null()]),
  updated_at: Type.Union([Type.String(), Type.Null()]),
  server: Type.Record(Type.String(), Type.Unknown(), { description: 'The server.json as the upstream sent it' }),
  mirror: Type.Object({ upstream: Type.String() }, { description: 'Where it comes from (every mirrored object is marked so)' }),
});

const MirrorServers = Type.Object({
  mirror: Type.String(),
  upstream: Type.String(),
  servers: Type.Array(MirrorServer),
  next_cursor: Type.Optional(Type.String({ description: 'Absent on the last page' })),
});

const encode = (p: UpstreamPosition): string => Buffer.from(JSON.stringify([p.key, p.version])).toString('base64url');

const decode = (cursor: string): UpstreamPosition => {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string') return { key: v[0], version: v[1] };
  } catch {
    /* refused below */
  }
  throw badRequest('Invalid cursor', ["cursor: pass back the exact 'next_cursor' of the previous page"]);
};

/**
 * The servers an MCP mirror brings (`GET /api/v1/mirrors/:name/servers`): each one's latest version
 * as its upstream listed it, marked `mirror: {upstream}`, in name order with cursor pages. Readable
 * by whoever may read this registry, as the MCP views showing the same servers are.
 */
export const mirrorServerRoutes: FastifyPluginAsyncTypebox<NativeDoorOptions> = async (app, { registry }) => {
  app.get('/mirrors/:name/servers', {
    schema: {
      tags: ['mirrors'],
      summary: "The MCP servers an MCP mirror's upstream brings (latest versions; shadowed and pinned ones left out)",
      params: Params,
      querystring: Query,
      response: { 200: MirrorServers, ...errorResponses },
    },
    handler: async (req, reply) => {
      if (!registry.mcpMirrors) throw notImplemented('MCP mirrors are not offered by this server');
      const q = req.query;
      const page = await registry.mcpMirrors.serversOf(await requestContext(registry, req), req.params.name, {
        text: q.search?.trim() || undefined,
        after: q.cursor === undefined ? undefined : decode(q.cursor),
        limit: q.limit ?? 30,
      });
      markStale(reply, page.stale);
      return {
        mirror: req.params.name,
        upstream: page.url,
        servers: page.rows.map((r) => ({
          name: r.name,
          version: r.version,
          description: r.description,
          status: r.status === 'deprecated' ? ('deprecated' as const) : ('active' as const),
          published_at: r.publishedAt,
          updated_at: r.updatedAt,
          server: r.server,
          mirror: { upstream: page.url },
        })),
        ...(page.next ? { next_cursor: encode(page.next) } : {}),
      };
    },
  });
};
