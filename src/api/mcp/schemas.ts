import { Type, type Static } from 'typebox';
import { ExistingVersion } from '../shared/existing-version-schema.js';
import { Finding } from '../shared/finding-schema.js';

/**
 * TypeBox schemas of the MCP Registry door (the official registry's generic API, v0 and v0.1).
 * They validate the requests and generate the door's OpenAPI document (`/openapi.yaml`). The
 * server.json itself is validated by the core (the mcp-server manifest), not here.
 */

export const Problem = Type.Object(
  {
    title: Type.String({ description: 'The HTTP status text' }),
    status: Type.Integer(),
    detail: Type.String({ description: 'What went wrong, for a human' }),
    errors: Type.Optional(Type.Array(Type.Object({ message: Type.String() }))),
    existing: Type.Optional(ExistingVersion),
  },
  { $id: 'McpProblem', description: 'An RFC 9457 problem (application/problem+json)' },
);

export const problemResponses = {
  400: Problem,
  401: Problem,
  403: Problem,
  404: Problem,
  409: Problem,
  413: Problem,
  415: Problem,
  422: Problem,
  501: Problem,
};

export const ServerJson = Type.Record(Type.String(), Type.Unknown(), {
  description:
    'A server.json (schema https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json): name, description, version, and optionally title, repository, websiteUrl, icons, packages, remotes, _meta',
});

export const OfficialMeta = Type.Object({
  status: Type.Enum(['active', 'deprecated', 'deleted']),
  statusMessage: Type.Optional(Type.String()),
  statusChangedAt: Type.String({ format: 'date-time', description: 'The last status change; the publish time until the first' }),
  publishedAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  isLatest: Type.Boolean(),
});

export const OFFICIAL_META_KEY = 'io.modelcontextprotocol.registry/official';
/** This registry's own `_meta` key: what the version was flagged for at publish (present when anything was). */
export const FINDINGS_META_KEY = 'dev.agentry/findings';

/** Only on servers of an upstream (a pull-through mirror): where they come from. */
export const MirrorMeta = Type.Object({ upstream: Type.String({ description: "The upstream MCP registry's URL" }) });

export const ServerResponse = Type.Object(
  {
    server: ServerJson,
    _meta: Type.Object({
      [OFFICIAL_META_KEY]: OfficialMeta,
      [FINDINGS_META_KEY]: Type.Optional(Type.Array(Finding, { description: 'What the version was flagged for at publish (packages from unknown registries); absent when nothing was' })),
      'dev.agentry/mirror': Type.Optional(MirrorMeta),
    }),
  },
  { $id: 'McpServerResponse', description: 'One version of a server: its server.json and the registry metadata' },
);

export const ServerList = Type.Object({
  servers: Type.Array(ServerResponse),
  metadata: Type.Object({
    nextCursor: Type.Optional(Type.String({ description: 'Pass as `cursor` for the next page; absent on the last page' })),
    count: Type.Integer({ description: 'Servers in this page' }),
  }),
});

const BooleanQuery = Type.Boolean({ default: false });

export const ListQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 1000, description: 'Opaque: the `metadata.nextCursor` of the previous page' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 30 })),
  search: Type.Optional(Type.String({ maxLength: 200, description: 'Case-insensitive substring of the server name or description' })),
  updated_since: Type.Optional(Type.String({ maxLength: 64, description: 'RFC 3339 date-time; includes deleted versions' })),
  version: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "'latest' or one exact version" })),
  include_deleted: Type.Optional(BooleanQuery),
});
export type ListQuery = Static<typeof ListQuery>;

export const IncludeDeletedQuery = Type.Object({ include_deleted: Type.Optional(BooleanQuery) });

export const ServerParams = Type.Object({
  serverName: Type.String({ minLength: 1, maxLength: 300, description: "URL-encoded server name, e.g. 'io.github.alice%2Fweather'" }),
});
export const VersionParams = Type.Object({
  ...ServerParams.properties,
  version: Type.String({ minLength: 1, maxLength: 300, description: "URL-encoded version, or 'latest'" }),
});

export const StatusBody = Type.Object(
  {
    status: Type.Enum(['active', 'deprecated', 'deleted']),
    statusMessage: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

export const AllVersionsStatusResponse = Type.Object({ updatedCount: Type.Integer(), servers: Type.Array(ServerResponse) });

export const Ping = Type.Object({ pong: Type.Boolean() });
export const Health = Type.Object({ status: Type.String(), version: Type.String(), store: Type.String() });
