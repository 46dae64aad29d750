import { Type, type Static } from 'typebox';
import { KindParam, ListItem } from './schemas.js';

/** Schemas of agentx's discovery, stars and telemetry routes (they also make `/openapi.json`). */

export const TrendingQuery = Type.Object({
  period: Type.Optional(Type.Enum(['day', 'week', 'month'], { default: 'week' })),
  kind: Type.Optional(KindParam),
  category: Type.Optional(Type.String({ maxLength: 50 })),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, default: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});

export const TrendingItem = Type.Object({ ...ListItem.properties, period_downloads: Type.Integer({ description: 'Downloads inside the period' }) });
export const TrendingResponse = Type.Object({
  agents: Type.Array(TrendingItem),
  total: Type.Integer(),
  page: Type.Integer(),
  limit: Type.Integer(),
  period: Type.String(),
  since: Type.String({ description: 'First UTC day of the period (YYYY-MM-DD)' }),
});

export const CategoriesQuery = Type.Object({ kind: Type.Optional(KindParam) });
export const CategoriesResponse = Type.Object({
  categories: Type.Array(Type.Object({ slug: Type.String(), name: Type.String(), count: Type.Integer() })),
});

export const UserListQuery = Type.Object({
  sort: Type.Optional(Type.Enum(['downloads', 'stars', 'newest', 'name'])),
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, default: 1 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
});
export type UserListQuery = Static<typeof UserListQuery>;

export const StarResponse = Type.Object({ success: Type.Optional(Type.Boolean()), starred: Type.Boolean(), star_count: Type.Integer() });

const NAME = '[a-zA-Z0-9](?:[a-zA-Z0-9._-]{0,98}[a-zA-Z0-9])?';
const SCOPE = '[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,98}[a-zA-Z0-9])?';

/** `POST /telemetry`: every field bounded, nothing else accepted. */
export const TelemetryBody = Type.Object(
  {
    agent_name: Type.String({ minLength: 1, maxLength: 202, pattern: `^(?:@${SCOPE}/)?${NAME}$`, description: "'@scope/name', or a name only one scope publishes" }),
    agent_version: Type.String({ minLength: 1, maxLength: 64 }),
    success: Type.Boolean(),
    duration_ms: Type.Integer({ minimum: 0, maximum: 86_400_000 }),
    os: Type.Optional(Type.String({ maxLength: 32, pattern: '^[A-Za-z0-9._-]*$', description: 'Validated, not stored' })),
    cli_version: Type.Optional(Type.String({ maxLength: 32, pattern: '^[A-Za-z0-9.+-]*$', description: 'Validated, not stored' })),
  },
  { additionalProperties: false },
);
export type TelemetryBody = Static<typeof TelemetryBody>;

/** The largest telemetry body accepted, in bytes (a full report is under 400). */
export const TELEMETRY_BODY_LIMIT = 2048;

export const TelemetryQuery = Type.Object({ days: Type.Optional(Type.Integer({ minimum: 1, maximum: 90, default: 30 })) });

const RunStats = {
  runs: Type.Integer(),
  successes: Type.Integer(),
  failures: Type.Integer(),
  success_rate: Type.Union([Type.Number(), Type.Null()]),
  p50_duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  p95_duration_ms: Type.Union([Type.Integer(), Type.Null()]),
};
export const TelemetryStatsResponse = Type.Object({
  full_name: Type.String(),
  days: Type.Integer(),
  since: Type.String(),
  ...RunStats,
  versions: Type.Array(Type.Object({ version: Type.String(), ...RunStats })),
});
